// The heads' Mini App: lists of records with their filters, a record's page, and the charts, read
// from the JSON API beside this page. Every request names the person by Telegram's initData (the
// X-Telegram-Init-Data header); every text from the API is inserted as text, never as HTML.
"use strict";

const TELEGRAM_SCRIPT = "https://telegram.org/js/telegram-web-app.js";
const TELEGRAM_SCRIPT_WAIT_MS = 8000;
const TEXT_FILTERS = ["customer", "product", "vendor", "asset", "month"];
const PANEL_FILTERS = ["status", ...TEXT_FILTERS];
const SVG = "http://www.w3.org/2000/svg";
const SERIES_COLOURS = 6; // .series-0 … .series-5 in style.css, then round again

let WORDS = {};

const page = {
  language: "zh-Hant",
  webApp: null, // window.Telegram.WebApp: Telegram's, or the emulator's shim
  initData: "",
  me: null,
  view: null, // "list" | "record" | "charts"
  type: null,
  query: emptyQuery(),
  listRequest: 0, // the latest list request: an older answer arriving late is dropped
  listScroll: 0,
  charts: null,
};

function emptyQuery() {
  return { status: "", late: false, customer: "", product: "", vendor: "", asset: "", month: "", q: "", page: 1 };
}

const $ = (id) => document.getElementById(id);

// --- the page's words --------------------------------------------------------------------------

function languageOf(code) {
  // a language code read as the bot reads it (bot/texts.py, Texts.language_for)
  const lowered = (code || "").toLowerCase();
  if (lowered.startsWith("zh")) {
    return ["zh", "zh-cn", "zh-sg", "zh-hans"].includes(lowered) ? "zh-Hans" : "zh-Hant";
  }
  return lowered.startsWith("en") ? "en" : null;
}

function wordsIn(language, key) {
  const found = (WORDS[language] || {})[key];
  return found !== undefined ? found : (WORDS.en || {})[key] || key;
}

function words(key) {
  return wordsIn(page.language, key);
}

function t(key, params = {}) {
  return words(key).replace(/\{(\w+)\}/g, (whole, name) => (name in params ? String(params[name]) : whole));
}

function countText(count) {
  const rule = new Intl.PluralRules(page.language).select(count) === "one" ? "one" : "other";
  return t(`list.count.${rule}`, { count });
}

function showWords() {
  document.documentElement.lang = page.language;
  for (const element of document.querySelectorAll("[data-words]")) {
    element.textContent = words(element.dataset.words);
  }
  for (const element of document.querySelectorAll("[data-words-placeholder]")) {
    element.placeholder = words(element.dataset.wordsPlaceholder);
  }
  for (const element of document.querySelectorAll("[data-words-label]")) {
    element.setAttribute("aria-label", words(element.dataset.wordsLabel));
  }
  document.title = words("page.title");
}

// an element with a class and text; text always as text
function el(tag, className, text) {
  const element = document.createElement(tag);
  if (className) element.className = className;
  if (text !== undefined && text !== null) element.textContent = text;
  return element;
}

function svg(tag, attributes = {}, text) {
  const element = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attributes)) element.setAttribute(name, String(value));
  if (text !== undefined) element.textContent = text;
  return element;
}

// --- Telegram ----------------------------------------------------------------------------------

function loadTelegramScript() {
  // Telegram's own script, only when not in the emulator's panel (the shim built the object)
  return new Promise((resolve) => {
    const script = document.createElement("script");
    const timer = setTimeout(resolve, TELEGRAM_SCRIPT_WAIT_MS);
    script.src = TELEGRAM_SCRIPT;
    script.onload = () => { clearTimeout(timer); resolve(); };
    script.onerror = () => { clearTimeout(timer); resolve(); };
    document.head.appendChild(script);
  });
}

async function telegramWebApp() {
  if (!(window.Telegram && window.Telegram.WebApp)) await loadTelegramScript();
  return (window.Telegram && window.Telegram.WebApp) || null;
}

// --- the API -----------------------------------------------------------------------------------

class ApiError extends Error {
  constructor(status, code) {
    super(`HTTP ${status}`);
    this.status = status;
    this.code = code;
  }
}

async function api(path) {
  // relative to the page, so /app/ behind a proxy asks /app/api/…
  let response;
  try {
    response = await fetch(path, { headers: { "X-Telegram-Init-Data": page.initData } });
  } catch (error) {
    throw new ApiError(0, "network");
  }
  if (response.status === 401) {
    showUnauthorized();
    throw new ApiError(401, "unauthorized");
  }
  if (!response.ok) {
    let code = null;
    try { code = (await response.json()).error; } catch (error) { code = null; }
    throw new ApiError(response.status, code);
  }
  return response.json();
}

function errorText(error) {
  if (error.status === 0) return words("error.network");
  if (error.status === 403) return words("error.forbidden");
  if (error.status === 404) return words("error.not_found");
  return t("error.failed", { status: error.status || "?" });
}

function errorBox(error, retry) {
  const box = el("div", "error");
  box.appendChild(el("p", null, errorText(error)));
  if (retry && ![403, 404].includes(error.status)) {
    const button = el("button", null, words("error.retry"));
    button.type = "button";
    button.addEventListener("click", retry);
    box.appendChild(button);
  }
  return box;
}

// --- who is asking -----------------------------------------------------------------------------

function showUnauthorized() {
  // the person's language is not known without valid initData: say it in all three, theirs first
  $("loading").hidden = true;
  $("app").hidden = true;
  $("viewer").hidden = true;
  const box = $("unauthorized");
  box.querySelectorAll(".language").forEach((node) => node.remove());
  const order = [page.language, ...["zh-Hant", "zh-Hans", "en"].filter((l) => l !== page.language)];
  order.forEach((language, index) => {
    const part = el("div", index === 0 ? "language first" : "language");
    part.lang = language;
    part.appendChild(el(index === 0 ? "h1" : "h2", null, wordsIn(language, "unauthorized.title")));
    part.appendChild(el("p", null, wordsIn(language, "unauthorized.more")));
    box.appendChild(part);
  });
  box.hidden = false;
  if (page.webApp && page.webApp.BackButton) page.webApp.BackButton.hide();
}

// --- tabs --------------------------------------------------------------------------------------

function showTabs() {
  const tabs = $("tabs");
  tabs.replaceChildren();
  const entries = page.me.types.map((type) => ({ id: type.type, name: type.name }));
  if (page.me.charts) entries.push({ id: "charts", name: words("tab.charts") });
  for (const entry of entries) {
    const tab = el("button", "tab", entry.name);
    tab.type = "button";
    tab.setAttribute("role", "tab");
    tab.dataset.tab = entry.id;
    tab.addEventListener("click", () => (entry.id === "charts" ? openCharts() : openType(entry.id)));
    tabs.appendChild(tab);
  }
}

function markTab(id) {
  for (const tab of $("tabs").children) {
    const chosen = tab.dataset.tab === id;
    tab.setAttribute("aria-selected", String(chosen));
    tab.classList.toggle("chosen", chosen);
    if (chosen) tab.scrollIntoView({ block: "nearest", inline: "nearest" });
  }
}

function showView(name) {
  page.view = name;
  $("list-view").hidden = name !== "list";
  $("record-view").hidden = name !== "record";
  $("charts-view").hidden = name !== "charts";
  $("top").hidden = name === "record";
  const back = page.webApp && page.webApp.BackButton;
  if (back) {
    if (name === "record") back.show(); else back.hide();
  }
}

// --- the list ----------------------------------------------------------------------------------

function openType(type) {
  if (page.type !== type) {
    page.type = type;
    page.query = emptyQuery(); // each type has its own filters
    showQuery();
    $("filters").hidden = true;
    $("more-filters").setAttribute("aria-expanded", "false");
  }
  markTab(type);
  showView("list");
  loadList();
}

function listParams() {
  const query = page.query;
  const params = new URLSearchParams({ type: page.type, page: String(query.page) });
  if (query.status) params.set("status", query.status);
  if (query.late) params.set("late", "1");
  for (const name of TEXT_FILTERS) if (query[name].trim()) params.set(name, query[name].trim());
  if (query.q.trim()) params.set("q", query.q.trim());
  return params;
}

async function loadList() {
  const request = ++page.listRequest;
  $("cards").setAttribute("aria-busy", "true");
  $("list-error").hidden = true;
  let answer;
  try {
    answer = await api(`api/records?${listParams()}`);
  } catch (error) {
    if (request !== page.listRequest || error.status === 401) return;
    $("cards").replaceChildren();
    $("cards").removeAttribute("aria-busy");
    $("pager").hidden = true;
    $("count").textContent = "";
    $("list-error").replaceChildren(errorBox(error, loadList));
    $("list-error").hidden = false;
    return;
  }
  if (request !== page.listRequest) return;
  showFilters(answer);
  showCards(answer);
  showPager(answer);
}

function showQuery() {
  const query = page.query;
  $("q").value = query.q;
  $("late").checked = query.late;
  const form = $("filters");
  for (const name of TEXT_FILTERS) form.elements[name].value = query[name];
  $("status").value = query.status;
}

function showFilters(answer) {
  const has = new Set(answer.filters || []);
  $("toolbar").hidden = !has.has("q");
  $("late-chip").hidden = !has.has("late");
  $("late-chip").classList.toggle("on", page.query.late);
  for (const label of $("filters").querySelectorAll("[data-filter]")) {
    label.hidden = !has.has(label.dataset.filter);
  }
  const panel = PANEL_FILTERS.filter((name) => has.has(name));
  $("more-filters").hidden = panel.length === 0;
  const active = panel.filter((name) => page.query[name]).length;
  $("more-filters").textContent = active ? t("filter.more.active", { count: active }) : words("filter.more");
  $("more-filters").classList.toggle("on", active > 0);

  const select = $("status");
  select.replaceChildren();
  const choices = [{ key: "", name: words("filter.status.open") }, { key: "all", name: words("filter.status.all") }];
  for (const choice of [...choices, ...(answer.statuses || [])]) {
    const option = el("option", null, choice.name);
    option.value = choice.key;
    select.appendChild(option);
  }
  select.value = page.query.status;
  showMonths(answer.months);
}

// The month filter's choices: any month, then the months the server names on the configured
// zone's calendar, as the charts name them (2026年8月, Aug 2026); a month input would show the
// browser's own placeholder (---------- ----) and its own language's words instead.
function showMonths(months) {
  const select = $("filters").elements.month;
  select.replaceChildren(el("option", null, words("filter.month.any")));
  select.firstChild.value = "";
  for (const month of months || []) {
    const option = el("option", null, month.name);
    option.value = month.key;
    select.appendChild(option);
  }
  select.value = page.query.month;
}

function showCards(answer) {
  const cards = $("cards");
  cards.removeAttribute("aria-busy");
  $("count").textContent = countText(answer.total);
  if (!answer.items.length) {
    cards.replaceChildren(el("li", "empty", words("list.empty")));
    return;
  }
  cards.replaceChildren(...answer.items.map(card));
}

function card(item) {
  const li = el("li", item.late ? "card late" : "card");
  li.dataset.key = item.key;
  const button = el("button", "card-body");
  button.type = "button";
  button.addEventListener("click", () => openRecord(item.type || page.type, item.key));

  const head = el("div", "card-head");
  head.appendChild(el("span", "number", item.number));
  head.appendChild(statusBadge(item.status));
  button.appendChild(head);
  button.appendChild(el("div", "title", item.title));

  const meta = el("div", "meta");
  if (item.step) meta.appendChild(el("span", "step", t("card.step", { step: item.step })));
  if (item.holder) meta.appendChild(el("span", "holder", t("card.holder", { holder: item.holder })));
  if (meta.children.length) button.appendChild(meta);

  const due = el("div", "due");
  if (item.due_text) due.appendChild(el("span", null, t("card.due", { due: item.due_text })));
  if (item.late_text) due.appendChild(el("span", item.late ? "late-text" : "left-text", item.late_text));
  if (!due.children.length && item.received_text) {
    due.appendChild(el("span", "received", t("card.received", { received: item.received_text })));
  }
  if (due.children.length) button.appendChild(due);
  li.appendChild(button);
  return li;
}

function statusBadge(status) {
  const badge = el("span", "status", status ? status.name : "");
  if (status && status.key) badge.dataset.status = status.key;
  return badge;
}

function showPager(answer) {
  const pages = Math.max(answer.pages || 1, 1);
  $("pager").hidden = pages <= 1;
  $("page-of").textContent = t("pager.page", { page: answer.page, pages });
  $("prev").disabled = answer.page <= 1;
  $("next").disabled = answer.page >= pages;
}

function goToPage(delta) {
  page.query.page = Math.max(1, page.query.page + delta);
  window.scrollTo(0, 0);
  loadList();
}

function readFilterPanel() {
  const form = $("filters");
  page.query.status = $("status").value;
  for (const name of TEXT_FILTERS) page.query[name] = form.elements[name].value;
  page.query.page = 1;
}

// --- a record ----------------------------------------------------------------------------------

async function openRecord(type, key) {
  if (page.view === "list") page.listScroll = window.scrollY;
  showView("record");
  const holder = $("record");
  holder.replaceChildren(el("p", "notice", words("loading")));
  window.scrollTo(0, 0);
  let record;
  try {
    record = await api(`api/records/${encodeURIComponent(type)}/${encodeURIComponent(key)}`);
  } catch (error) {
    if (error.status !== 401 && page.view === "record") {
      holder.replaceChildren(errorBox(error, () => openRecord(type, key)));
    }
    return;
  }
  if (page.view !== "record") return; // went back while it loaded
  holder.replaceChildren(...recordParts(record));
}

function section(titleKey, body, className) {
  const part = el("section", className || null);
  part.appendChild(el("h2", null, words(titleKey)));
  part.appendChild(body);
  return part;
}

function none() {
  return el("p", "hint", words("record.none"));
}

function recordParts(record) {
  const parts = [];
  const head = el("header", "record-head");
  const line = el("div", "card-head");
  line.appendChild(el("h1", "number", record.number));
  line.appendChild(statusBadge(record.status));
  head.appendChild(line);
  head.appendChild(el("p", "title", record.title));
  if (record.chat_link) {
    const open = el("button", "primary wide", words("record.open_chat"));
    open.type = "button";
    open.id = "open-in-chat";
    open.addEventListener("click", () => openInChat(record.chat_link));
    head.appendChild(open);
    head.appendChild(el("p", "hint", words("record.open_chat.hint")));
  }
  parts.push(head);

  const fields = el("dl", "fields");
  for (const field of record.fields || []) {
    const row = el("div", "field");
    row.appendChild(el("dt", null, field.label));
    row.appendChild(el("dd", null, field.value));
    fields.appendChild(row);
  }
  parts.push(section("record.fields", fields.children.length ? fields : none(), "fields-part"));

  const deadlines = el("ul", "deadlines");
  for (const deadline of record.deadlines || []) {
    const row = el("li", `deadline ${deadline.state}`);
    const text = el("div");
    text.appendChild(el("div", "name", deadline.name));
    text.appendChild(el("div", "hint", deadline.due_text));
    row.appendChild(text);
    const state = el("span", `state ${deadline.state}${deadline.overdue ? " overdue" : ""}`,
      deadline.state_text || words(`deadline.state.${deadline.state}`));
    row.appendChild(state);
    deadlines.appendChild(row);
  }
  parts.push(section("record.deadlines", deadlines.children.length ? deadlines : none(), "deadlines-part"));

  const timeline = el("ol", "timeline");
  for (const event of record.timeline || []) {
    const row = el("li");
    const when = el("time", "when", event.at_text);
    if (event.at) when.dateTime = event.at;
    row.appendChild(when);
    const what = el("div", "what");
    what.appendChild(el("span", "who", event.who));
    what.appendChild(el("span", null, event.what));
    row.appendChild(what);
    timeline.appendChild(row);
  }
  parts.push(section("record.timeline", timeline.children.length ? timeline : none(), "timeline-part"));

  const files = record.files || [];
  const photos = files.filter((file) => file.kind === "photo");
  const photoGrid = el("div", "photos");
  for (const photo of photos) photoGrid.appendChild(thumbnail(photo));
  parts.push(section("record.photos", photos.length ? photoGrid : none(), "photos-part"));

  const documents = files.filter((file) => file.kind !== "photo");
  if (documents.length) {
    const list = el("ul", "downloads");
    for (const file of documents) {
      const row = el("li");
      row.appendChild(el("span", "name", file.caption));
      row.appendChild(downloadLink(file.url, file.name, file.name));
      list.appendChild(row);
    }
    parts.push(section("record.files", list, "files-part"));
  }

  const forms = el("ul", "downloads");
  for (const form of record.forms || []) {
    const row = el("li");
    row.appendChild(el("span", "name", form.name));
    row.appendChild(downloadLink(form.url, form.file_name, words("record.download")));
    forms.appendChild(row);
  }
  parts.push(section("record.forms", forms.children.length ? forms : none(), "forms-part"));
  return parts;
}

function thumbnail(photo) {
  const figure = el("figure", "photo");
  const button = el("button");
  button.type = "button";
  button.title = words("photo.open");
  const image = el("img");
  image.src = photo.url;
  image.alt = photo.caption || photo.name || "";
  image.loading = "lazy";
  button.appendChild(image);
  button.addEventListener("click", () => showPhoto(photo));
  figure.appendChild(button);
  if (photo.caption) figure.appendChild(el("figcaption", null, photo.caption));
  return figure;
}

function showPhoto(photo) {
  $("viewer-image").src = photo.url;
  $("viewer-image").alt = photo.caption || photo.name || "";
  $("viewer-caption").textContent = photo.caption || "";
  $("viewer").hidden = false;
  $("viewer-close").focus();
}

function closePhoto() {
  $("viewer").hidden = true;
  $("viewer-image").removeAttribute("src");
}

function downloadLink(url, fileName, label) {
  // a plain link that downloads anywhere; inside Telegram, Telegram's own download instead
  const link = el("a", "download", label);
  link.href = url;
  link.download = fileName || "";
  link.dataset.fileName = fileName || "";
  link.addEventListener("click", (event) => {
    const webApp = page.webApp;
    if (!webApp || typeof webApp.downloadFile !== "function") return;
    try {
      webApp.downloadFile({ url: new URL(url, document.baseURI).href, file_name: fileName });
      event.preventDefault();
    } catch (error) {
      // an older Telegram without downloadFile: the link downloads it
    }
  });
  return link;
}

function hasOwnBackButton(webApp) {
  if (!webApp || !webApp.BackButton || webApp.platform === "unknown") return false;
  return webApp.platform !== "emulator" || window.parent !== window;
}

function openInChat(link) {
  if (page.webApp && typeof page.webApp.openTelegramLink === "function") {
    page.webApp.openTelegramLink(link);
  } else {
    window.open(link, "_blank", "noopener");
  }
}

function backToList() {
  if (!$("viewer").hidden) { closePhoto(); return; }
  if (page.view !== "record") return;
  showView("list");
  window.scrollTo(0, page.listScroll);
}

// --- charts ------------------------------------------------------------------------------------

async function openCharts() {
  markTab("charts");
  showView("charts");
  if (page.charts) { drawCharts(); return; }
  $("charts").replaceChildren(el("p", "notice", words("loading")));
  try {
    page.charts = (await api("api/charts")).charts || [];
  } catch (error) {
    if (error.status !== 401) $("charts").replaceChildren(errorBox(error, openCharts));
    return;
  }
  if (page.view === "charts") drawCharts();
}

function drawCharts() {
  const holder = $("charts");
  if (!page.charts.length) {
    holder.replaceChildren(el("p", "hint", words("charts.empty")));
    return;
  }
  holder.replaceChildren(...page.charts.map(() => el("figure", "chart")));
  page.charts.forEach((chart, index) => drawChart(holder.children[index], chart));
}

function formatValue(value, unit) {
  if (value === null || value === undefined) return words("charts.no_value");
  const number = new Intl.NumberFormat(page.language, { maximumFractionDigits: 2 }).format(value);
  if (!unit) return number;
  const spaced = page.language === "en" && unit !== "%";
  return spaced ? `${number} ${unit}` : `${number}${unit}`;
}

function niceScale(low, high, whole) {
  // round ticks (1, 2, 2.5, 5 × 10^n), about five of them; counts (`whole`) never in fractions
  if (high === low) high = low + 1;
  const rough = (high - low) / 5;
  const magnitude = 10 ** Math.floor(Math.log10(rough));
  const nice = [1, 2, 2.5, 5, 10].map((m) => m * magnitude).find((s) => s >= rough);
  const step = whole ? Math.max(1, Math.round(nice)) : nice;
  const start = Math.floor(low / step) * step;
  const end = Math.ceil(high / step) * step;
  const ticks = [];
  for (let tick = start; tick <= end + step / 2; tick += step) ticks.push(Number(tick.toFixed(10)));
  return { start, end, ticks };
}

function categoryLabel(category, yearMonth) {
  // a month (YYYY-MM, as the chart's months give it) as its short name, 8月 or Aug; the year
  // is in the chart's title and the readout
  const month = /^(\d{4})-(\d{2})$/.exec(yearMonth || category);
  if (!month) return category;
  const moment = new Date(Date.UTC(Number(month[1]), Number(month[2]) - 1, 15));
  return new Intl.DateTimeFormat(page.language, { month: "short", timeZone: "UTC" }).format(moment);
}

function shortLabel(text, most) {
  const characters = Array.from(text);
  return characters.length > most ? `${characters.slice(0, most - 1).join("")}…` : text;
}

function drawChart(figure, chart) {
  figure.replaceChildren();
  figure.dataset.chart = chart.key;
  figure.appendChild(el("figcaption", "chart-title", chart.title));
  const width = Math.max(280, Math.round(figure.clientWidth - 24) || 320);
  const height = width < 500 ? 210 : 240;
  const margin = { top: 22, right: 12, bottom: 26, left: 40 };
  const plotWidth = width - margin.left - margin.right;
  const plotHeight = height - margin.top - margin.bottom;
  const categories = chart.categories || [];
  const series = chart.series || [];
  const values = series.flatMap((s) => s.values).filter((v) => typeof v === "number");
  if (typeof chart.limit === "number") values.push(chart.limit);
  // a rate with no figure above 0% yet spans 0-100%, not a meaningless 0-1%
  if (chart.unit === "%" && Math.max(0, ...values) === 0) values.push(100);
  // the vendor scores' line is the mark to reach; every other chart's a limit not to pass
  const limitWords = chart.key === "vendor_scores" ? "charts.pass_mark" : "charts.limit";
  const whole = values.every((value) => Number.isInteger(value));
  const scale = niceScale(Math.min(0, ...values), Math.max(0, ...values), whole);
  const y = (value) => margin.top + plotHeight * (1 - (value - scale.start) / (scale.end - scale.start));
  const band = plotWidth / Math.max(categories.length, 1);
  const middle = (index) => margin.left + band * (index + 0.5);

  const picture = svg("svg", {
    width, height, viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": chart.title, class: "chart-svg",
  });
  const readout = el("p", "readout", "");
  readout.setAttribute("aria-live", "polite");

  // the value axis: grid lines, tick labels, the unit above them
  for (const tick of scale.ticks) {
    picture.appendChild(svg("line", { x1: margin.left, x2: width - margin.right, y1: y(tick), y2: y(tick), class: "grid" }));
    picture.appendChild(svg("text", { x: margin.left - 6, y: y(tick) + 4, class: "tick", "text-anchor": "end" },
      new Intl.NumberFormat(page.language, { maximumFractionDigits: 2 }).format(tick)));
  }
  if (chart.unit) picture.appendChild(svg("text", { x: 4, y: 12, class: "unit" }, chart.unit));
  picture.appendChild(svg("line", { x1: margin.left, x2: width - margin.right, y1: y(Math.max(scale.start, 0)), y2: y(Math.max(scale.start, 0)), class: "axis" }));

  // the category axis: as many labels as fit, the rest in each mark's figure
  const every = Math.max(1, Math.ceil(categories.length / Math.max(1, Math.floor(plotWidth / 44))));
  const widest = Math.max(2, Math.floor((band * every) / 12)); // characters, at 11 px a CJK one
  categories.forEach((category, index) => {
    if (index % every !== 0) return;
    const label = svg("text", { x: middle(index), y: height - margin.bottom + 16, class: "tick", "text-anchor": "middle" },
      shortLabel(categoryLabel(category, (chart.months || [])[index]), widest));
    label.appendChild(svg("title", {}, category));
    picture.appendChild(label);
  });

  function mark(element, category, seriesName, value) {
    const text = t("charts.value", { category, series: seriesName, value: formatValue(value, chart.unit) });
    element.appendChild(svg("title", {}, text));
    element.setAttribute("tabindex", "0");
    const choose = () => {
      readout.textContent = text;
      picture.querySelectorAll(".chosen").forEach((node) => node.classList.remove("chosen"));
      element.classList.add("chosen");
    };
    element.addEventListener("click", choose);
    element.addEventListener("mouseenter", choose);
    element.addEventListener("focus", choose);
    element.addEventListener("keydown", (event) => { if (event.key === "Enter") choose(); });
  }

  const base = y(Math.max(scale.start, 0));
  if (chart.kind === "line") {
    series.forEach((one, s) => {
      let path = "";
      let drawing = false;
      one.values.forEach((value, index) => {
        if (typeof value !== "number") { drawing = false; return; }
        path += `${drawing ? "L" : "M"}${middle(index).toFixed(1)},${y(value).toFixed(1)}`;
        drawing = true;
      });
      if (path) picture.appendChild(svg("path", { d: path, class: `line series-${s % SERIES_COLOURS}` }));
      one.values.forEach((value, index) => {
        if (typeof value !== "number") return;
        const point = svg("circle", { cx: middle(index), cy: y(value), r: 4, class: `point series-${s % SERIES_COLOURS}` });
        mark(point, categories[index], one.name, value);
        picture.appendChild(point);
      });
    });
  } else {
    const inner = band * 0.78;
    const barWidth = inner / Math.max(series.length, 1);
    series.forEach((one, s) => {
      one.values.forEach((value, index) => {
        if (typeof value !== "number") return;
        const x = margin.left + band * index + (band - inner) / 2 + barWidth * s;
        const top = Math.min(y(value), base);
        const bar = svg("rect", {
          x: x.toFixed(1), y: top.toFixed(1), width: Math.max(barWidth - 1, 1).toFixed(1),
          height: Math.max(Math.abs(base - y(value)), 0.5).toFixed(1), class: `bar series-${s % SERIES_COLOURS}`,
        });
        mark(bar, categories[index], one.name, value);
        picture.appendChild(bar);
      });
    });
  }

  if (typeof chart.limit === "number") {
    const limitText = t(limitWords, { value: formatValue(chart.limit, chart.unit) });
    picture.appendChild(svg("line", { x1: margin.left, x2: width - margin.right, y1: y(chart.limit), y2: y(chart.limit), class: "limit" }));
    picture.appendChild(svg("text", { x: width - margin.right, y: y(chart.limit) - 5, class: "limit-label", "text-anchor": "end" }, limitText));
  }
  figure.appendChild(picture);

  const legend = el("ul", "legend");
  series.forEach((one, s) => {
    const entry = el("li");
    entry.appendChild(el("span", `swatch series-${s % SERIES_COLOURS}`));
    entry.appendChild(document.createTextNode(one.name));
    legend.appendChild(entry);
  });
  if (typeof chart.limit === "number") {
    const entry = el("li");
    entry.appendChild(el("span", "swatch limit"));
    entry.appendChild(document.createTextNode(t(limitWords, { value: formatValue(chart.limit, chart.unit) })));
    legend.appendChild(entry);
  }
  figure.appendChild(legend);
  figure.appendChild(readout);
  // a chart with no figure at all (no repair finished yet) says so under its empty axes
  if (!series.some((one) => one.values.some((value) => typeof value === "number"))) {
    figure.appendChild(el("p", "hint", words("charts.no_value")));
  }
  if (chart.note) figure.appendChild(el("p", "hint note", chart.note));
}

// --- start -------------------------------------------------------------------------------------

function wire() {
  $("toolbar").addEventListener("submit", (event) => {
    event.preventDefault();
    page.query.q = $("q").value;
    page.query.page = 1;
    $("q").blur(); // closes a phone's keyboard
    loadList();
  });
  $("late").addEventListener("change", () => {
    page.query.late = $("late").checked;
    page.query.page = 1;
    loadList();
  });
  $("more-filters").addEventListener("click", () => {
    const open = $("filters").hidden;
    $("filters").hidden = !open;
    $("more-filters").setAttribute("aria-expanded", String(open));
  });
  $("filters").addEventListener("submit", (event) => {
    event.preventDefault();
    readFilterPanel();
    $("filters").hidden = true;
    $("more-filters").setAttribute("aria-expanded", "false");
    loadList();
  });
  $("clear-filters").addEventListener("click", () => {
    const keep = page.query.q;
    page.query = { ...emptyQuery(), q: keep };
    showQuery();
    loadList();
  });
  $("prev").addEventListener("click", () => goToPage(-1));
  $("next").addEventListener("click", () => goToPage(1));
  $("back").addEventListener("click", backToList);
  $("viewer-close").addEventListener("click", closePhoto);
  $("viewer").addEventListener("click", (event) => { if (event.target === $("viewer")) closePhoto(); });
  document.addEventListener("keydown", (event) => { if (event.key === "Escape") backToList(); });
  let resizing = null;
  window.addEventListener("resize", () => {
    clearTimeout(resizing);
    resizing = setTimeout(() => { if (page.view === "charts" && page.charts) drawCharts(); }, 150);
  });
}

async function start() {
  try {
    WORDS = await (await fetch("static/words.json")).json();
  } catch (error) {
    WORDS = {};
  }
  const webApp = await telegramWebApp();
  page.webApp = webApp;
  page.initData = (webApp && webApp.initData) || "";
  const user = webApp && webApp.initDataUnsafe && webApp.initDataUnsafe.user;
  page.language = languageOf(user && user.language_code) || languageOf(navigator.language) || "zh-Hant";
  showWords();
  wire();
  if (webApp) {
    webApp.ready();
    if (typeof webApp.expand === "function") webApp.expand();
    if (webApp.BackButton) webApp.BackButton.onClick(backToList);
  }
  // Telegram, and the web chat around its panel, show their own back button; the page shows
  // one only where nobody else does (opened alone in a browser)
  $("back").hidden = hasOwnBackButton(webApp);
  if (!page.initData) { showUnauthorized(); return; }

  let me;
  try {
    me = await api("api/me");
  } catch (error) {
    if (error.status !== 401) {
      $("loading").replaceChildren(errorBox(error, () => window.location.reload()));
    }
    return;
  }
  page.me = me;
  page.language = languageOf(me.language) || page.language;
  showWords();
  const roles = (me.roles || []).map((role) => role.name).join(words("roles.joiner"));
  $("person").textContent = roles ? `${me.name} · ${roles}` : me.name;
  showTabs();
  $("loading").hidden = true;
  $("app").hidden = false;
  if (me.types.length) openType(me.types[0].type);
  else if (me.charts) openCharts();
}

start();
