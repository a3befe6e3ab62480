// The page: who is signed in, and which screen shows (the part of the URL after #).
import { api } from "./api.js";
import { $, notify } from "./dom.js";
import * as admin from "./admin.js";
import * as chat from "./chat.js";
import * as keys from "./keys.js";
import * as models from "./models.js";
import * as tokens from "./tokens.js";
import * as usage from "./usage.js";

const SCREENS = { chat, keys, models, tokens, usage, admin };
let me = null;

async function signIn(event) {
  event.preventDefault();
  const input = $("sign-in-token");
  try {
    me = await api("POST", "/api/session", { token: input.value.trim() });
    input.value = "";
    notify("");
    await enter();
  } catch (error) {
    notify(error.message);
  }
}

async function signOut() {
  try {
    await api("DELETE", "/api/session");
  } finally {
    me = null;
    chat.reset();
    location.hash = "";
    showSignIn();
  }
}

function showSignIn() {
  for (const section of document.querySelectorAll(".screen")) section.hidden = true;
  $("nav").hidden = true;
  $("sign-out").hidden = true;
  $("who").textContent = "";
  $("screen-sign-in").hidden = false;
  $("sign-in-token").focus();
}

async function enter() {
  $("nav").hidden = false;
  $("sign-out").hidden = false;
  $("nav-admin").hidden = !me.is_admin;
  $("who").textContent = `${me.username}${me.is_admin ? " (admin)" : ""}`;
  $("screen-sign-in").hidden = true;
  await route();
}

async function route() {
  if (!me) return;
  let name = location.hash.slice(1) || "chat";
  if (!(name in SCREENS)) name = "chat";
  for (const section of document.querySelectorAll(".screen")) section.hidden = true;
  for (const link of document.querySelectorAll("nav a")) {
    link.toggleAttribute("aria-current", link.hash === `#${name}`);
    if (link.hash === `#${name}`) link.setAttribute("aria-current", "page");
  }
  if (name === "admin" && !me.is_admin) {
    $("screen-refused").hidden = false;
    return;
  }
  $(`screen-${name}`).hidden = false;
  notify("");
  try {
    await SCREENS[name].show();
  } catch (error) {
    if (error.status === 401) {
      me = null;
      showSignIn();
    }
    notify(error.message);
  }
}

async function start() {
  $("sign-in-form").addEventListener("submit", signIn);
  $("sign-out").addEventListener("click", signOut);
  window.addEventListener("hashchange", route);
  for (const screen of Object.values(SCREENS)) screen.setup();
  try {
    const state = await api("GET", "/api/session");
    if (!state.signed_in) return showSignIn();
    me = state;
  } catch (error) {
    notify(error.message);
    return showSignIn();
  }
  await enter();
}

start();
