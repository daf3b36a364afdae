// The tracking pages: experiments, an experiment's runs, a run, comparing runs, registered
// models, a model, a model version. Each page function returns an element, or throws an
// ApiError that the router shows.

import { axisPicker, metricChart } from "./charts.js";
import {
  api, apiBlob, errorBox, formatNumber, formatSize, formatTime, h, keyValues, saveBlob, table,
} from "./common.js";

const enc = encodeURIComponent;

function link(href, text) {
  return h("a", { href }, text);
}

function runLink(run) {
  return link(`#/runs/${run.run_id}`, run.run_name || run.run_id.slice(0, 8));
}

// --- experiments ---------------------------------------------------------------------------

export async function experimentsPage(query) {
  const q = query.get("q") || "";
  const { experiments } = await api("experiments", { query: { q } });
  const search = h("input", { id: "experiment-search", type: "search", value: q, placeholder: "part of a name" });
  const form = h(
    "form",
    { role: "search", onsubmit: (event) => {
      event.preventDefault();
      location.hash = `#/experiments?q=${enc(search.value.trim())}`;
    } },
    h("label", { for: "experiment-search" }, "Search experiments "),
    search,
    h("button", { type: "submit" }, "Search"),
  );
  return h(
    "section",
    {},
    h("h1", {}, "Experiments"),
    form,
    table(
      "Experiments",
      ["Name", "Runs", "Last activity", "Created"],
      experiments.map((e) => [
        link(`#/experiments/${e.experiment_id}`, e.name),
        String(e.run_count),
        formatTime(e.last_activity),
        formatTime(e.creation_time),
      ]),
      { empty: q ? `No experiment's name contains "${q}".` : "No experiments yet: log a run with modelport.start_run()." },
    ),
  );
}

// --- runs of an experiment ------------------------------------------------------------------

function orderOf(query) {
  return query.get("order") || "";
}

export async function runsPage(experimentId, query) {
  const filter = query.get("filter") || "";
  const order = orderOf(query);
  const size = Number(query.get("size") || 50);
  const tokens = (query.get("pages") || "").split(",").filter(Boolean);
  const token = tokens.length ? tokens[tokens.length - 1] : undefined;
  const experiment = await api(`experiments/${enc(experimentId)}`);
  const section = h("section", {}, h("h1", {}, `Runs of ${experiment.name}`));

  const go = (changes) => {
    const next = new URLSearchParams(query);
    for (const [k, v] of Object.entries(changes)) {
      if (v) next.set(k, v);
      else next.delete(k);
    }
    location.hash = `#/experiments/${enc(experimentId)}?${next}`;
  };

  const filterInput = h("input", { id: "run-filter", type: "text", value: filter, size: 60, placeholder: "metrics.accuracy > 0.9 and params.lr = '0.01'" });
  section.append(
    h(
      "form",
      { role: "search", onsubmit: (event) => {
        event.preventDefault();
        go({ filter: filterInput.value.trim(), pages: "" });
      } },
      h("label", { for: "run-filter" }, "Filter runs "),
      filterInput,
      h("button", { type: "submit" }, "Apply filter"),
    ),
  );

  let page;
  try {
    page = await api(`experiments/${enc(experimentId)}/runs`, {
      query: { filter, order_by: order ? [order] : [], max_results: size, page_token: token },
    });
  } catch (error) {
    section.append(errorBox(error));
    return section;
  }
  const { runs, columns } = page;
  const selected = new Set();
  const compare = h("button", { type: "button", disabled: true, onclick: () => {
    location.hash = `#/compare?runs=${[...selected].join(",")}`;
  } }, "Compare selected runs");

  const sortHeader = (label, key) => {
    const cut = order.lastIndexOf(" ");
    const [current, direction] = cut < 0 ? [order, "ASC"] : [order.slice(0, cut), order.slice(cut + 1)];
    const active = current === key;
    const nextDirection = active && direction !== "DESC" ? "DESC" : active ? "ASC" : "DESC";
    const th = h("button", { type: "button", class: "sort", onclick: () => go({ order: `${key} ${nextDirection}`, pages: "" }) },
      label, active ? (direction === "DESC" ? " ▼" : " ▲") : "");
    return { th, sort: active ? (direction === "DESC" ? "descending" : "ascending") : null };
  };
  const quote = (key) => (/^[\w.\-/]+$/.test(key) ? key : `\`${key}\``);
  const headers = [
    { th: "Select" },
    sortHeader("Run", "run_name"),
    sortHeader("Status", "status"),
    sortHeader("Started", "start_time"),
    ...columns.params.map((p) => sortHeader(`params.${p}`, `params.${quote(p)}`)),
    ...columns.metrics.map((m) => sortHeader(`metrics.${m}`, `metrics.${quote(m)}`)),
  ];
  if (runs.length) {
    const headRow = h("tr", {}, headers.map(({ th, sort }) => h("th", { scope: "col", "aria-sort": sort || undefined }, th)));
    const rows = runs.map((run) => {
      const label = run.run_name || run.run_id;
      const box = h("input", { type: "checkbox", "aria-label": `Select ${label}`, onchange: (event) => {
        if (event.target.checked) selected.add(run.run_id);
        else selected.delete(run.run_id);
        compare.disabled = selected.size < 2;
      } });
      return h(
        "tr",
        {},
        h("td", {}, box),
        h("th", { scope: "row" }, runLink(run)),
        h("td", {}, run.status),
        h("td", {}, formatTime(run.start_time)),
        columns.params.map((p) => h("td", {}, run.params[p] ?? "–")),
        columns.metrics.map((m) => h("td", { class: "number" }, formatNumber(run.metrics[m]))),
      );
    });
    section.append(h("table", { class: "runs" }, h("caption", {}, `Runs (page ${tokens.length + 1})`), h("thead", {}, headRow), h("tbody", {}, rows)));
  } else {
    section.append(h("p", { class: "empty" }, filter ? "No run matches this filter." : "No runs in this experiment yet."));
  }
  const sizeSelect = h("select", { id: "page-size", onchange: (event) => go({ size: event.target.value, pages: "" }) },
    [10, 50, 100, 500].map((n) => h("option", { value: String(n), selected: n === size }, String(n))));
  section.append(
    h(
      "nav",
      { class: "pager", "aria-label": "Pages of runs" },
      compare,
      h("button", { type: "button", disabled: !tokens.length, onclick: () => go({ pages: tokens.slice(0, -1).join(",") }) }, "Previous page"),
      h("button", { type: "button", disabled: !page.next_page_token, onclick: () => go({ pages: [...tokens, page.next_page_token].join(",") }) }, "Next page"),
      h("label", { for: "page-size" }, "Runs per page "),
      sizeSelect,
    ),
  );
  return section;
}

// --- one run ---------------------------------------------------------------------------------

async function histories(runId, keys) {
  const answers = await Promise.all(keys.map((key) => api(`runs/${enc(runId)}/metric-history`, { query: { key } })));
  return Object.fromEntries(answers.map((a) => [a.key, a.history]));
}

function chartsSection(title, metricKeys, seriesOf, axis, onAxis) {
  const section = h("section", { class: "charts" }, h("h2", {}, title));
  if (!metricKeys.length) {
    section.append(h("p", { class: "empty" }, "No metrics logged."));
    return section;
  }
  section.append(axisPicker(axis, onAxis));
  const grid = h("div", { class: "chart-grid" });
  for (const key of metricKeys) grid.append(metricChart(key, seriesOf(key), axis));
  section.append(grid);
  return section;
}

export async function runPage(runId, query) {
  const axis = query.get("axis") === "time" ? "time" : "step";
  const run = await api(`runs/${enc(runId)}`);
  const { info, data, models } = run;
  const metricKeys = Object.keys(data.metrics).sort();
  const history = await histories(runId, metricKeys);
  const setAxis = (value) => {
    location.hash = `#/runs/${enc(runId)}?axis=${value}`;
  };
  const section = h(
    "section",
    {},
    h("p", { class: "crumbs" }, link(`#/experiments/${info.experiment_id}`, run.experiment_name), " › run"),
    h("h1", {}, info.run_name || info.run_id),
    keyValues("Run", [
      ["Run id", h("code", {}, info.run_id)],
      ["Status", info.status],
      ["Started", formatTime(info.start_time)],
      ["Ended", formatTime(info.end_time)],
      ["Artifact location", h("code", {}, info.artifact_uri)],
      ...(info.parent_run_id ? [["Parent run", link(`#/runs/${info.parent_run_id}`, info.parent_run_id)]] : []),
    ]),
    keyValues("Parameters", Object.entries(data.params).sort()),
    keyValues("Metrics (latest values)", metricKeys.map((k) => [k, formatNumber(data.metrics[k])])),
    keyValues("Tags", Object.entries(data.tags).sort()),
    chartsSection("Metric charts", metricKeys, (key) => [{ label: info.run_name || info.run_id, history: history[key] }], axis, setAxis),
    h("section", {}, h("h2", {}, "Logged models"), table(
      "Logged models",
      ["Name", "Flavor", "Task", "URI"],
      models.map((m) => [link(`#/runs/${enc(runId)}/models/${enc(m.name)}`, m.name), m.flavor, m.task || "–", h("code", {}, m.model_uri)]),
      { empty: "No models logged in this run." },
    )),
  );
  section.append(await artifactsSection(runId, ""));
  return section;
}

async function artifactsSection(runId, folder) {
  const section = h("section", { class: "artifacts", "aria-label": "Artifacts" }, h("h2", {}, "Artifacts"));
  const preview = h("div", { class: "preview" });
  const render = async (path) => {
    section.querySelectorAll("table, p.empty, p.error, p.path").forEach((e) => e.remove());
    preview.replaceChildren();
    let listing;
    try {
      listing = await api(`runs/${enc(runId)}/artifacts`, { query: { path } });
    } catch (error) {
      section.insertBefore(errorBox(error), preview);
      return;
    }
    const up = path.includes("/") ? path.slice(0, path.lastIndexOf("/")) : "";
    const where = h("p", { class: "path" }, "Folder: ", h("code", {}, `/${path}`),
      path ? h("button", { type: "button", onclick: () => render(up) }, "Up one folder") : null);
    const rows = listing.files.map((file) => {
      const name = file.path.split("/").pop();
      if (file.is_dir) {
        return [h("button", { type: "button", class: "linkish", onclick: () => render(file.path) }, `${name}/`), "folder", ""];
      }
      return [
        name,
        formatSize(file.file_size),
        h("span", {},
          h("button", { type: "button", "aria-label": `Preview ${name}`, onclick: () => showPreview(runId, file.path, preview) }, "Preview"),
          " ",
          h("button", { type: "button", "aria-label": `Download ${name}`, onclick: async () => {
            try {
              saveBlob(await apiBlob(`runs/${enc(runId)}/artifacts/file`, { path: file.path }), name);
            } catch (error) {
              preview.replaceChildren(errorBox(error));
            }
          } }, "Download")),
      ];
    });
    section.insertBefore(where, preview);
    section.insertBefore(table("Artifact files", ["Name", "Size", "Actions"], rows, { empty: "No artifacts." }), preview);
  };
  section.append(preview);
  await render(folder);
  return section;
}

async function showPreview(runId, path, target) {
  target.replaceChildren(h("p", {}, `Loading ${path}…`));
  try {
    const answer = await api(`runs/${enc(runId)}/artifacts/preview`, { query: { path } });
    const title = h("h3", {}, `Preview of ${answer.name}`);
    if (answer.kind === "image") {
      const blob = await apiBlob(`runs/${enc(runId)}/artifacts/file`, { path });
      target.replaceChildren(title, h("img", { src: URL.createObjectURL(blob), alt: answer.name }));
    } else if (answer.kind === "binary") {
      target.replaceChildren(title, h("p", {}, `${answer.name} (${formatSize(answer.size)}) is not text; download it to open it.`));
    } else {
      target.replaceChildren(title, h("pre", { class: `preview-${answer.kind}`, "aria-label": `Contents of ${answer.name}` }, answer.text),
        answer.truncated ? h("p", { class: "empty" }, "Only the beginning is shown; download the file for the rest.") : null);
    }
  } catch (error) {
    target.replaceChildren(errorBox(error));
  }
}

// --- a logged model's package ------------------------------------------------------------------

export async function loggedModelPage(runId, name) {
  const answer = await api(`runs/${enc(runId)}/logged-models/${enc(name)}`);
  return h(
    "section",
    {},
    h("p", { class: "crumbs" }, link(`#/runs/${enc(runId)}`, "run"), " › logged model"),
    h("h1", {}, `Model ${name}`),
    h("p", {}, "URI: ", h("code", {}, answer.model_uri)),
    packageCard(answer.package),
    answer.versions.length
      ? h("p", {}, "Registered as: ", answer.versions.map((v, i) => [i ? ", " : "", link(`#/models/${enc(v.name)}/versions/${v.version}`, `${v.name} v${v.version}`)]))
      : h("p", { class: "empty" }, "Not registered."),
  );
}

function packageCard(card) {
  if (card.error) return errorBox(new Error(card.error));
  return h(
    "section",
    { class: "card", "aria-label": "Package" },
    h("h2", {}, "Package"),
    keyValues("Package", [
      ["Flavor", card.flavor],
      ["Task", card.task || "–"],
      ["Size", formatSize(card.size_bytes)],
      ["Streams", card.streamable ? "yes" : "no (as one chunk)"],
      ["Created", card.created],
      ["Python", card.python_version],
      ["modelport", card.modelport_version],
    ]),
    h("h3", {}, "Signature"),
    h("pre", { "aria-label": "Signature" }, card.signature || "None"),
    h("h3", {}, "Requirements"),
    h("pre", { "aria-label": "Requirements" }, card.requirements || "None"),
    h("h3", {}, "Input example"),
    h("pre", { "aria-label": "Input example" }, card.input_example || "None"),
  );
}

// --- comparing runs ----------------------------------------------------------------------------

export async function comparePage(query) {
  const ids = (query.get("runs") || "").split(",").filter(Boolean);
  const axis = query.get("axis") === "time" ? "time" : "step";
  if (ids.length < 2) {
    return h("section", {}, h("h1", {}, "Compare runs"), h("p", { class: "empty" }, "Select two runs or more in an experiment's runs table."));
  }
  const runs = await Promise.all(ids.map((id) => api(`runs/${enc(id)}`)));
  const label = (run) => run.info.run_name || run.info.run_id.slice(0, 8);
  const metricKeys = [...new Set(runs.flatMap((r) => Object.keys(r.data.metrics)))].sort();
  const paramKeys = [...new Set(runs.flatMap((r) => Object.keys(r.data.params)))].sort();
  const all = await Promise.all(runs.map((r) => histories(r.info.run_id, Object.keys(r.data.metrics))));

  const header = h("tr", {}, h("th", { scope: "col" }, "Parameter"), runs.map((r) => h("th", { scope: "col" }, runLink({ run_id: r.info.run_id, run_name: label(r) }))));
  const paramRows = paramKeys.map((key) => {
    const values = runs.map((r) => r.data.params[key]);
    const differs = new Set(values.map((v) => v ?? "\u0000")).size > 1;
    return h("tr", { class: differs ? "differs" : null, "data-differs": differs ? "true" : "false" },
      h("th", { scope: "row" }, key, differs ? h("span", { class: "badge", title: "differs between runs" }, " differs") : null),
      values.map((v) => h("td", {}, v ?? "–")));
  });
  const metricRows = metricKeys.map((key) => h("tr", {}, h("th", { scope: "row" }, key), runs.map((r) => h("td", { class: "number" }, formatNumber(r.data.metrics[key])))));
  const setAxis = (value) => {
    location.hash = `#/compare?runs=${ids.join(",")}&axis=${value}`;
  };
  return h(
    "section",
    {},
    h("h1", {}, `Compare ${runs.length} runs`),
    h("table", { class: "compare" }, h("caption", {}, "Parameters side by side (differences highlighted)"), h("thead", {}, header), h("tbody", {}, paramRows)),
    h("table", { class: "compare" }, h("caption", {}, "Metrics (latest values)"),
      h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Metric"), runs.map((r) => h("th", { scope: "col" }, label(r))))),
      h("tbody", {}, metricRows)),
    chartsSection("Metrics overlaid", metricKeys, (key) => runs
      .map((r, i) => ({ label: label(r), history: all[i][key] || [] }))
      .filter((s) => s.history.length), axis, setAxis),
  );
}

// --- the registry ------------------------------------------------------------------------------

export async function modelsPage() {
  const { models } = await api("registered-models");
  return h(
    "section",
    {},
    h("h1", {}, "Registered models"),
    table(
      "Registered models",
      ["Name", "Latest version", "Aliases", "Description", "Updated"],
      models.map((m) => [
        link(`#/models/${enc(m.name)}`, m.name),
        m.latest_version ? link(`#/models/${enc(m.name)}/versions/${m.latest_version}`, `v${m.latest_version}`) : "–",
        aliasList(m.aliases),
        m.description || "–",
        formatTime(m.last_update_time),
      ]),
      { empty: "No registered models yet: log a model with registered_model_name=..." },
    ),
  );
}

function aliasList(aliases) {
  const entries = Object.entries(aliases || {});
  if (!entries.length) return "–";
  return h("span", {}, entries.map(([alias, version]) => h("span", { class: "alias" }, `@${alias} → v${version}`)));
}

function descriptionEditor(current, save) {
  const area = h("textarea", { id: "description", rows: 3, cols: 60 }, current || "");
  const status = h("span", { class: "status", role: "status" });
  const box = h("div", { class: "result" });
  return h(
    "form",
    { class: "description", onsubmit: async (event) => {
      event.preventDefault();
      box.replaceChildren();
      status.textContent = "Saving…";
      try {
        await save(area.value);
        status.textContent = "Saved.";
      } catch (error) {
        status.textContent = "";
        box.replaceChildren(errorBox(error));
      }
    } },
    h("label", { for: "description" }, "Description"),
    area,
    h("button", { type: "submit" }, "Save description"),
    status,
    box,
  );
}

export async function modelPage(name) {
  const model = await api(`registered-models/${enc(name)}`);
  return h(
    "section",
    {},
    h("p", { class: "crumbs" }, link("#/models", "Registered models"), " › model"),
    h("h1", {}, model.name),
    descriptionEditor(model.description, (text) => api(`registered-models/${enc(name)}`, { method: "PATCH", body: { description: text } })),
    keyValues("Tags", Object.entries(model.tags).sort()),
    table(
      "Versions",
      ["Version", "Aliases", "Created", "Source run", "Description"],
      model.versions.slice().reverse().map((v) => [
        link(`#/models/${enc(name)}/versions/${v.version}`, `v${v.version}`),
        v.aliases.length ? v.aliases.map((a) => h("span", { class: "alias" }, `@${a}`)) : "–",
        formatTime(v.creation_time),
        v.run_id ? link(`#/runs/${v.run_id}`, v.run_id.slice(0, 8)) : "–",
        v.description || "–",
      ]),
    ),
  );
}

export async function versionPage(name, version) {
  const answer = await api(`registered-models/${enc(name)}/versions/${enc(version)}`);
  const result = h("div", { class: "result" });
  const reload = () => window.dispatchEvent(new HashChangeEvent("hashchange"));
  const aliasInput = h("input", { id: "alias-name", type: "text", placeholder: "champion", required: true });
  const aliasForm = h(
    "form",
    { class: "alias-form", onsubmit: async (event) => {
      event.preventDefault();
      result.replaceChildren();
      try {
        await api(`registered-models/${enc(name)}/aliases/${enc(aliasInput.value.trim())}`, { method: "PUT", body: { version: answer.version } });
        reload();
      } catch (error) {
        result.replaceChildren(errorBox(error));
      }
    } },
    h("label", { for: "alias-name" }, "Alias"),
    aliasInput,
    h("button", { type: "submit" }, "Set alias"),
  );
  const aliases = answer.aliases.length
    ? h("ul", { class: "aliases" }, answer.aliases.map((alias) => h("li", {}, h("span", { class: "alias" }, `@${alias}`), " ",
      h("button", { type: "button", "aria-label": `Remove alias ${alias}`, onclick: async () => {
        result.replaceChildren();
        try {
          await api(`registered-models/${enc(name)}/aliases/${enc(alias)}`, { method: "DELETE" });
          reload();
        } catch (error) {
          result.replaceChildren(errorBox(error));
        }
      } }, "Remove"))))
    : h("p", { class: "empty" }, "No aliases point here.");
  return h(
    "section",
    {},
    h("p", { class: "crumbs" }, link("#/models", "Registered models"), " › ", link(`#/models/${enc(name)}`, name), " › version"),
    h("h1", {}, `${name} v${answer.version}`),
    keyValues("Version", [
      ["URI", h("code", {}, `models:/${name}/${answer.version}`)],
      ["Source", h("code", {}, answer.source)],
      ["Source run", answer.run_id ? link(`#/runs/${answer.run_id}`, answer.run_id) : "–"],
      ["Created", formatTime(answer.creation_time)],
    ]),
    h("section", {}, h("h2", {}, "Aliases"), aliases, aliasForm, result),
    descriptionEditor(answer.description, (text) => api(`registered-models/${enc(name)}/versions/${answer.version}`, { method: "PATCH", body: { description: text } })),
    keyValues("Tags", Object.entries(answer.tags).sort()),
    packageCard(answer.package),
  );
}
