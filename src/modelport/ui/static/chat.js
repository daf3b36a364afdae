// The chat playground: talks to any OpenAI-compatible /v1 (by default the server the UI is on),
// streams answers over SSE, stops them (the aborted fetch closes the connection, which the
// server sees as a disconnect), and sends one conversation to two models side by side.

import { authHeaders, errorBox, errorOf, h, networkError } from "./common.js";

const URL_STORAGE = "modelport.chatUrl";

/** The request's sampling settings read from the form; a bad value throws naming the field. */
function readSettings(form) {
  const settings = {};
  const number = (id, label, field, { integer = false } = {}) => {
    const raw = form.querySelector(`#${id}`).value.trim();
    if (!raw) return;
    const value = Number(raw);
    if (!Number.isFinite(value) || (integer && !Number.isInteger(value))) {
      throw new Error(`${label} must be ${integer ? "a whole number" : "a number"}, got "${raw}"`);
    }
    settings[field] = value;
  };
  number("temperature", "Temperature", "temperature");
  number("top-p", "Top p", "top_p");
  number("max-tokens", "Max tokens", "max_tokens", { integer: true });
  number("seed", "Seed", "seed", { integer: true });
  const stop = form.querySelector("#stop").value.split("\n").filter((s) => s.length);
  if (stop.length) settings.stop = stop;
  const json = (id, label, field, kind) => {
    const raw = form.querySelector(`#${id}`).value.trim();
    if (!raw) return;
    let value;
    try {
      value = JSON.parse(raw);
    } catch (error) {
      throw new Error(`${label} is not valid JSON: ${error.message}`);
    }
    if (kind === "array" ? !Array.isArray(value) : (typeof value !== "object" || value === null || Array.isArray(value))) {
      throw new Error(`${label} must be a JSON ${kind === "array" ? "array of tools" : "object"}`);
    }
    settings[field] = value;
  };
  json("tools", "Tools", "tools", "array");
  json("response-format", "Response format", "response_format", "object");
  return settings;
}

function requestBody(model, messages, settings) {
  return { model, messages, ...settings, stream: true, stream_options: { include_usage: true } };
}

/** Read an SSE body: calls ``onEvent(json)`` per ``data:`` line until ``[DONE]``. */
async function readEvents(response, onEvent) {
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  try {
    await readBlocks(reader, decoder, onEvent);
  } finally {
    reader.cancel().catch(() => {});
  }
}

async function readBlocks(reader, decoder, onEvent) {
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += decoder.decode(value, { stream: true });
    let end;
    while ((end = buffer.search(/\r?\n\r?\n/)) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end).replace(/^\r?\n\r?\n/, "");
      const data = block.split(/\r?\n/).filter((l) => l.startsWith("data:")).map((l) => l.slice(5).trimStart()).join("\n");
      if (!data) continue;
      if (data === "[DONE]") return;
      onEvent(JSON.parse(data));
    }
  }
}

function formatStats({ ttft, seconds, usage, chunks, finish }) {
  const parts = [];
  if (ttft !== null) parts.push(`TTFT ${Math.round(ttft)} ms`);
  const tokens = usage ? usage.completion_tokens : chunks;
  const decode = seconds - (ttft || 0) / 1000;
  if (tokens > 1 && decode >= 0.01) parts.push(`${(tokens / decode).toFixed(1)} tok/s`);
  if (usage) parts.push(`${usage.prompt_tokens} prompt + ${usage.completion_tokens} completion tokens`);
  else parts.push(`≈${chunks} chunks (the server sent no usage)`);
  if (finish) parts.push(`finish: ${finish}`);
  return parts.join(" · ");
}

class Pane {
  constructor(index) {
    this.index = index;
    this.model = "";
    this.messages = []; // this model's side of the conversation (user turns are shared)
    this.title = h("h2", {}, "");
    this.log = h("div", { class: "log" });
    this.element = h("section", { class: "pane" }, this.title, this.log);
    this.controller = null;
    this.epoch = 0; // bumped by reset(): an answer of an older conversation is not kept
  }

  setModel(model) {
    this.model = model;
    this.title.textContent = model || "(no model)";
    this.element.setAttribute("aria-label", `Answers of ${model}`);
  }

  reset() {
    this.stop(); // a stream still running must not add its reply to the new conversation
    this.epoch += 1;
    this.messages = [];
    this.log.replaceChildren();
  }

  addUser(text) {
    this.messages.push({ role: "user", content: text });
    this.log.append(h("div", { class: "message user" }, h("span", { class: "who" }, "You"), h("div", { class: "content" }, text)));
  }

  /** Stream one answer; resolves when it ends (finished, stopped or failed). */
  async answer(base, system, settings) {
    const content = h("div", { class: "content" });
    const stats = h("p", { class: "stats", "aria-label": `Statistics of ${this.model}` });
    const bubble = h("div", { class: "message assistant", "data-state": "streaming" }, h("span", { class: "who" }, this.model), content, stats);
    this.log.append(bubble);
    const messages = system ? [{ role: "system", content: system }, ...this.messages] : [...this.messages];
    this.controller = new AbortController();
    const started = performance.now();
    let ttft = null;
    let usage = null;
    let chunks = 0;
    let finish = null;
    let text = "";
    const calls = [];
    const epoch = this.epoch;
    const done = (state) => {
      bubble.dataset.state = state;
      stats.textContent = formatStats({ ttft, seconds: (performance.now() - started) / 1000, usage, chunks, finish });
      this.controller = null;
      if (epoch !== this.epoch) return;
      if (text) {
        this.messages.push({ role: "assistant", content: text });
      } else {
        // No answer (an error, a stop before any text, or only tool calls, which the page does
        // not run): the question leaves the history, so the turns keep alternating.
        this.messages.pop();
      }
    };
    let response;
    try {
      response = await fetch(`${base}/chat/completions`, {
        method: "POST",
        headers: authHeaders({ "Content-Type": "application/json" }),
        body: JSON.stringify(requestBody(this.model, messages, settings)),
        signal: this.controller.signal,
      });
    } catch (cause) {
      if (cause.name === "AbortError") {
        content.textContent = "(stopped)";
        done("stopped");
        return;
      }
      content.replaceChildren(errorBox(networkError(base, cause)));
      done("error");
      return;
    }
    if (!response.ok) {
      content.replaceChildren(errorBox(await errorOf(response)));
      done("error");
      return;
    }
    try {
      await readEvents(response, (event) => {
        if (event.error) throw Object.assign(new Error(event.error.message || "the server failed"), { server: true });
        if (event.usage) usage = event.usage;
        for (const choice of event.choices || []) {
          const delta = choice.delta || {};
          if (delta.content) {
            if (ttft === null) ttft = performance.now() - started;
            chunks += 1;
            text += delta.content;
            content.textContent = text;
          }
          for (const call of delta.tool_calls || []) {
            if (ttft === null) ttft = performance.now() - started;
            const slot = calls[call.index] || (calls[call.index] = { id: call.id, type: "function", function: { name: "", arguments: "" } });
            if (call.id) slot.id = call.id;
            if (call.function?.name) slot.function.name += call.function.name;
            if (call.function?.arguments) slot.function.arguments += call.function.arguments;
            content.textContent = text + (text ? "\n" : "") + calls.map((c) => `→ ${c.function.name}(${c.function.arguments})`).join("\n");
          }
          if (choice.finish_reason) finish = choice.finish_reason;
        }
      });
      done("done");
    } catch (error) {
      if (error.name === "AbortError") {
        content.append(h("span", { class: "stopped" }, " (stopped)"));
        done("stopped");
      } else {
        content.append(errorBox(error));
        done("error");
      }
    }
  }

  stop() {
    if (this.controller) this.controller.abort();
  }
}

function showCode(base, body) {
  const json = JSON.stringify(body, null, 2);
  const absolute = new URL(base, location.href).href.replace(/\/$/, "");
  const curl = [
    `curl ${absolute}/chat/completions \\`,
    "  -H 'Content-Type: application/json' \\",
    '  -H "Authorization: Bearer $OPENAI_API_KEY" \\',
    `  -d '${json.replace(/'/g, "'\\''")}'`,
  ].join("\n");
  const { model, messages, stream, stream_options: streamOptions, ...rest } = body;
  const extra = Object.entries(rest).map(([k, v]) => `    ${k}=${toPython(v)},\n`).join("");
  const python = [
    "from openai import OpenAI",
    "",
    `client = OpenAI(base_url=${toPython(absolute)}, api_key="...")`,
    "stream = client.chat.completions.create(",
    `    model=${toPython(model)},`,
    `    messages=${toPython(messages)},`,
    `${extra}    stream=${stream ? "True" : "False"},`,
    streamOptions ? `    stream_options=${toPython(streamOptions)},` : null,
    ")",
    "for chunk in stream:",
    "    if chunk.choices and chunk.choices[0].delta.content:",
    "        print(chunk.choices[0].delta.content, end=\"\", flush=True)",
  ].filter((line) => line !== null).join("\n");
  return [curl, python];
}

/** A JSON value written as a Python literal (True/False/None). */
function toPython(value) {
  if (value === null || value === undefined) return "None";
  if (value === true) return "True";
  if (value === false) return "False";
  if (Array.isArray(value)) return `[${value.map(toPython).join(", ")}]`;
  if (typeof value === "object") return `{${Object.entries(value).map(([k, v]) => `${JSON.stringify(k)}: ${toPython(v)}`).join(", ")}}`;
  return JSON.stringify(value);
}

export function chatPage(config) {
  const saved = sessionStorage.getItem(URL_STORAGE);
  const fallback = config.chat_base_url ? new URL(config.chat_base_url, location.href).href.replace(/\/$/, "") : "";
  const urlInput = h("input", { id: "chat-url", type: "url", size: 40, value: saved || fallback, placeholder: "http://127.0.0.1:8080/v1" });
  const modelSelect = h("select", { id: "model" });
  const secondSelect = h("select", { id: "second-model" });
  const status = h("div", { class: "result", role: "region", "aria-label": "Notices", "aria-live": "polite" });
  const panes = [new Pane(0), new Pane(1)];
  const panesBox = h("div", { class: "panes" }, panes[0].element);
  const message = h("textarea", { id: "message", rows: 3, placeholder: "Ask something (Enter sends, Shift+Enter adds a line)" });
  const send = h("button", { type: "submit", class: "primary" }, "Send");
  const stop = h("button", { type: "button", disabled: true }, "Stop");
  const codeBox = h("div", { class: "code", hidden: true });
  const settingsForm = h(
    "details",
    { class: "settings" },
    h("summary", {}, "Settings"),
    h("div", { class: "grid" },
      h("label", { for: "system-prompt" }, "System prompt"), h("textarea", { id: "system-prompt", rows: 2 }),
      h("label", { for: "temperature" }, "Temperature"), h("input", { id: "temperature", type: "text", inputmode: "decimal", placeholder: "server default" }),
      h("label", { for: "top-p" }, "Top p"), h("input", { id: "top-p", type: "text", inputmode: "decimal", placeholder: "server default" }),
      h("label", { for: "max-tokens" }, "Max tokens"), h("input", { id: "max-tokens", type: "text", inputmode: "numeric", placeholder: "server default" }),
      h("label", { for: "stop" }, "Stop sequences (one per line)"), h("textarea", { id: "stop", rows: 2 }),
      h("label", { for: "seed" }, "Seed"), h("input", { id: "seed", type: "text", inputmode: "numeric" }),
      h("label", { for: "tools" }, "Tools (JSON array)"), h("textarea", { id: "tools", rows: 3, placeholder: '[{"type": "function", "function": {"name": "...", "parameters": {...}}}]' }),
      h("label", { for: "response-format" }, "Response format (JSON object)"), h("textarea", { id: "response-format", rows: 2, placeholder: '{"type": "json_object"}' }),
    ),
  );

  const base = () => urlInput.value.trim().replace(/\/$/, "");
  const active = () => panes.filter((p, i) => i === 0 || p.model);

  const loadModels = async () => {
    status.replaceChildren();
    const url = base();
    if (!url) {
      status.replaceChildren(h("p", { class: "empty" }, "Enter the base URL of an OpenAI-compatible server, e.g. http://127.0.0.1:8080/v1."));
      return;
    }
    sessionStorage.setItem(URL_STORAGE, url);
    let response;
    try {
      response = await fetch(`${url}/models`, { headers: authHeaders() });
    } catch (cause) {
      status.replaceChildren(errorBox(networkError(url, cause)));
      return;
    }
    if (!response.ok) {
      status.replaceChildren(errorBox(await errorOf(response)));
      return;
    }
    const { data } = await response.json();
    const ids = (data || []).map((m) => m.id);
    modelSelect.replaceChildren(...ids.map((id) => h("option", { value: id }, id)));
    secondSelect.replaceChildren(h("option", { value: "" }, "none (one model)"), ...ids.map((id) => h("option", { value: id }, id)));
    panes[0].setModel(modelSelect.value);
    panes[1].setModel("");
    panes.forEach((pane) => pane.reset());
    panesBox.replaceChildren(panes[0].element);
    panesBox.classList.remove("two");
    if (!ids.length) status.replaceChildren(h("p", { class: "empty" }, "This server serves no models."));
  };

  modelSelect.addEventListener("change", () => panes[0].setModel(modelSelect.value));
  secondSelect.addEventListener("change", () => {
    // Side by side starts a new conversation, so both models see the same one.
    panes[1].setModel(secondSelect.value);
    panes.forEach((pane) => pane.reset());
    panesBox.replaceChildren(...(secondSelect.value ? [panes[0].element, panes[1].element] : [panes[0].element]));
    panesBox.classList.toggle("two", Boolean(secondSelect.value));
  });

  const submit = async (event) => {
    event.preventDefault();
    if (send.disabled) return; // an answer is streaming: Enter does not start another
    status.replaceChildren();
    const text = message.value.trim();
    if (!text) return;
    if (!panes[0].model) {
      status.replaceChildren(errorBox(new Error("Choose a model first (Load models lists the server's models).")));
      return;
    }
    let settings;
    try {
      settings = readSettings(settingsForm);
    } catch (error) {
      status.replaceChildren(errorBox(error));
      settingsForm.open = true;
      return;
    }
    const system = settingsForm.querySelector("#system-prompt").value.trim();
    message.value = "";
    send.disabled = true;
    stop.disabled = false;
    const running = active();
    running.forEach((pane) => pane.addUser(text));
    await Promise.all(running.map((pane) => pane.answer(base(), system, settings)));
    send.disabled = false;
    stop.disabled = true;
    message.focus();
  };

  message.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey) {
      event.preventDefault();
      composer.requestSubmit();
    }
  });
  stop.addEventListener("click", () => panes.forEach((pane) => pane.stop()));

  const composer = h(
    "form",
    { class: "composer", onsubmit: submit },
    h("label", { for: "message" }, "Message"),
    message,
    h("div", { class: "buttons" },
      send,
      stop,
      h("button", { type: "button", onclick: () => {
        panes.forEach((p) => p.reset());
      } }, "New conversation"),
      h("button", { type: "button", onclick: () => {
        status.replaceChildren();
        let settings;
        try {
          settings = readSettings(settingsForm);
        } catch (error) {
          status.replaceChildren(errorBox(error));
          return;
        }
        const system = settingsForm.querySelector("#system-prompt").value.trim();
        const pending = message.value.trim();
        const history = [...panes[0].messages, ...(pending ? [{ role: "user", content: pending }] : [])];
        const messages = system ? [{ role: "system", content: system }, ...history] : history;
        const [curl, python] = showCode(base(), requestBody(panes[0].model || "MODEL", messages, settings));
        codeBox.hidden = false;
        codeBox.replaceChildren(
          h("h2", {}, "The request as code"),
          h("h3", {}, "curl"), h("pre", { "aria-label": "curl command" }, curl),
          h("h3", {}, "Python (openai SDK)"), h("pre", { "aria-label": "Python code" }, python),
        );
      } }, "Show code"),
    ),
  );

  const page = h(
    "section",
    { class: "chat" },
    h("h1", {}, "Chat playground"),
    h("form", { class: "server", onsubmit: (event) => {
      event.preventDefault();
      loadModels();
    } },
    h("label", { for: "chat-url" }, "Server URL"), urlInput, h("button", { type: "submit" }, "Load models"),
    h("label", { for: "model" }, "Model"), modelSelect,
    h("label", { for: "second-model" }, "Second model"), secondSelect),
    status,
    settingsForm,
    panesBox,
    composer,
    codeBox,
  );
  if (urlInput.value) loadModels();
  return page;
}
