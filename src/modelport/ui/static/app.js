// The router: the hash names the page (#/experiments, #/runs/ID, #/models/NAME/versions/N,
// #/chat…); each page is built from the JSON API and replaces the main element.

import { chatPage } from "./chat.js";
import { api, apiKey, errorBox, h, setApiKey } from "./common.js";
import {
  comparePage, experimentsPage, loggedModelPage, modelPage, modelsPage, runPage, runsPage, versionPage,
} from "./tracking.js";

const main = document.getElementById("main");
let config = null;

const routes = [
  [/^#\/experiments$/, (m, q) => experimentsPage(q), "tracking"],
  [/^#\/experiments\/([^/]+)$/, (m, q) => runsPage(decodeURIComponent(m[1]), q), "tracking"],
  [/^#\/runs\/([^/]+)$/, (m, q) => runPage(decodeURIComponent(m[1]), q), "tracking"],
  [/^#\/runs\/([^/]+)\/models\/([^/]+)$/, (m) => loggedModelPage(decodeURIComponent(m[1]), decodeURIComponent(m[2])), "tracking"],
  [/^#\/compare$/, (m, q) => comparePage(q), "tracking"],
  [/^#\/models$/, () => modelsPage(), "tracking"],
  [/^#\/models\/([^/]+)$/, (m) => modelPage(decodeURIComponent(m[1])), "tracking"],
  [/^#\/models\/([^/]+)\/versions\/([^/]+)$/, (m) => versionPage(decodeURIComponent(m[1]), decodeURIComponent(m[2])), "tracking"],
  [/^#\/chat$/, () => chatPage(config), null],
];

let renders = 0;

async function render() {
  const current = ++renders; // a slower, older render must not replace a newer page
  if (!config) {
    try {
      config = await api("config");
    } catch (error) {
      main.replaceChildren(h("h1", {}, "modelport"), errorBox(error));
      config = null;
      return;
    }
    document.querySelectorAll("[data-needs=tracking]").forEach((link) => {
      link.hidden = !config.tracking;
    });
  }
  const [path, search] = (location.hash || "").split("?");
  const query = new URLSearchParams(search || "");
  if (!path || path === "#" || path === "#/") {
    location.replace(config.tracking ? "#/experiments" : "#/chat");
    return;
  }
  document.querySelectorAll("nav a").forEach((link) => {
    const current = path === link.getAttribute("href") || path.startsWith(`${link.getAttribute("href")}/`);
    if (current) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  });
  for (const [pattern, page, needs] of routes) {
    const match = path.match(pattern);
    if (!match) continue;
    if (needs === "tracking" && !config.tracking) {
      main.replaceChildren(h("h1", {}, "No tracking store"), h("p", {}, "This server shows no tracking pages: start it with --store URI (or use modelport ui)."));
      return;
    }
    main.replaceChildren(h("p", { class: "loading" }, "Loading…"));
    let content;
    try {
      content = await page(match, query);
    } catch (error) {
      content = [h("h1", {}, "Something went wrong"), errorBox(error)];
    }
    if (current === renders) main.replaceChildren(...[content].flat());
    return;
  }
  main.replaceChildren(h("h1", {}, "Not found"), h("p", {}, `No page ${path}. `, h("a", { href: "#/" }, "Start page")));
}

const keyInput = document.getElementById("api-key");
keyInput.value = apiKey();
keyInput.addEventListener("change", () => {
  setApiKey(keyInput.value.trim());
  config = null;
  render();
});
document.getElementById("key-form").addEventListener("submit", (event) => {
  event.preventDefault();
  keyInput.dispatchEvent(new Event("change"));
});
window.addEventListener("hashchange", render);
render();
