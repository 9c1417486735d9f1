// The web chat of the local Bot API emulator: plain JavaScript, no build step.
// It reads /web/api/state and /web/api/chat, acts through POSTs, and refreshes on every
// server-sent event (the emulator's change counter). Its words are in words.json, one set per
// language the bot speaks, and follow the open person's language.
"use strict";

const page = {
  state: null,
  current: null, // the user id whose chat is open
  chat: null,
  pending: false,
  language: null, // the language the page's words are shown in
};

const $ = (id) => document.getElementById(id);

// --- the page's words --------------------------------------------------------------------------

let WORDS = {};

function languageOf(code) {
  // a Telegram language code read as the bot reads it (bot/texts.py, Texts.language_for)
  const lowered = (code || "").toLowerCase();
  if (lowered.startsWith("zh")) {
    return ["zh", "zh-cn", "zh-sg", "zh-hans"].includes(lowered) ? "zh-Hans" : "zh-Hant";
  }
  return lowered.startsWith("en") ? "en" : null;
}

function chosenLanguage() {
  // the open person's, else the deployment's default (the demo people's), else the browser's
  const person = page.state && page.state.people.find((p) => p.id === page.current);
  return (person && languageOf(person.language))
    || languageOf(page.state && page.state.language)
    || languageOf(navigator.language)
    || "en";
}

function words(key) {
  const found = (WORDS[page.language] || {})[key];
  return found !== undefined ? found : (WORDS.en || {})[key] || key;
}

// `params` fill a word's {placeholders}: text, or elements (a command shown as code)
function wordParts(key, params = {}) {
  return words(key).split(/\{(\w+)\}/).map((part, index) => {
    if (index % 2 === 0) return part;
    return part in params ? params[part] : `{${part}}`;
  });
}

function t(key, params = {}) {
  return wordParts(key, params).map(String).join("");
}

function code(text) {
  const element = document.createElement("code");
  element.textContent = text;
  return element;
}

function showWords() {
  document.documentElement.lang = page.language;
  for (const element of document.querySelectorAll("[data-words]")) {
    element.textContent = words(element.dataset.words);
  }
  for (const element of document.querySelectorAll("[data-words-title]")) {
    element.title = words(element.dataset.wordsTitle);
  }
  for (const element of document.querySelectorAll("[data-words-placeholder]")) {
    element.placeholder = words(element.dataset.wordsPlaceholder);
  }
  $("add-hint").replaceChildren(...wordParts("add.hint", { invite: code(words("add.hint.command")) }));
  renderTitle();
}

function followLanguage() {
  const language = chosenLanguage();
  if (language === page.language) return;
  page.language = language;
  showWords();
  if (page.state) {
    renderBotName();
    renderClock();
  }
  if (page.chat) renderChat();
}

// The token the emulator served this page with: every call of its API carries it (a header
// where fetch can set one; the event stream and file links cannot, so they name it).
const TOKEN = document.querySelector('meta[name="web-chat-token"]').content;
const TOKEN_HEADER = "X-Web-Chat-Token";

async function api(path, body) {
  const options = body === undefined ? { headers: { [TOKEN_HEADER]: TOKEN } } : {
    method: "POST",
    headers: { "Content-Type": "application/json", [TOKEN_HEADER]: TOKEN },
    body: JSON.stringify(body),
  };
  const reply = await fetch(`/web/api/${path}`, options);
  const data = await reply.json();
  if (!reply.ok) {
    showToast(data.error || t("error.status", { status: reply.status }));
    throw new Error(data.error);
  }
  return data;
}

// --- people ------------------------------------------------------------------------------------

function renderPeople() {
  const list = $("people");
  list.replaceChildren();
  for (const person of page.state.people) {
    const item = document.createElement("li");
    item.dataset.personId = person.id;
    item.className = person.id === page.current ? "active" : "";
    const avatar = document.createElement("span");
    avatar.className = "avatar";
    avatar.textContent = person.name.slice(0, 1);
    const name = document.createElement("span");
    name.className = "name";
    name.textContent = person.name;
    name.title = person.name;
    item.append(avatar, name);
    if (person.unread && person.id !== page.current) {
      const badge = document.createElement("span");
      badge.className = "unread";
      badge.textContent = person.unread;
      item.append(badge);
    }
    item.addEventListener("click", () => {
      closeDrawer();
      openChat(person.id);
    });
    list.append(item);
  }
  const select = $("deep-link-person");
  select.replaceChildren(...page.state.people.map((p) => new Option(p.name, p.id)));
}

function personName(id) {
  const person = page.state && page.state.people.find((p) => p.id === id);
  return person ? person.name : String(id);
}

function renderTitle() {
  $("chat-title").textContent = page.current === null ? words("chat.choose") : personName(page.current);
}

async function openChat(id) {
  if (page.webApp && page.webApp.user !== id) closeWebApp();
  page.current = id;
  history.replaceState(null, "", `#${id}`);
  renderTitle();
  $("text").disabled = $("send").disabled = false;
  page.chat = null;
  followLanguage();
  await refresh(true);
  $("text").focus();
}

// below a tablet's width the people are a drawer over the chat (style.css)
function openDrawer() {
  document.body.classList.add("drawer-open");
}

function closeDrawer() {
  document.body.classList.remove("drawer-open");
}

// --- the chat ----------------------------------------------------------------------------------

function linkify(text, container) {
  const pattern = /https?:\/\/[^\s<>"]+/g;
  let last = 0;
  for (const match of text.matchAll(pattern)) {
    container.append(text.slice(last, match.index));
    const url = match[0];
    const link = document.createElement("a");
    link.textContent = url;
    const start = /^https:\/\/t\.me\/[A-Za-z0-9_]+\?start=([A-Za-z0-9_-]+)$/.exec(url);
    if (start) {
      link.href = "#";
      link.className = "deep-link";
      link.title = words("message.deep_link.title");
      link.addEventListener("click", (event) => {
        event.preventDefault();
        openDeepLink(start[1]);
      });
    } else {
      link.href = url;
      link.target = "_blank";
      link.rel = "noopener";
    }
    container.append(link);
    last = match.index + url.length;
  }
  container.append(text.slice(last));
}

function fileUrl(fileId) {
  return `/web/file/${encodeURIComponent(fileId)}?token=${encodeURIComponent(TOKEN)}`;
}

function time(seconds) {
  // in the demo's zone when there is a demo clock (the emulator then dates messages by it)
  const zone = page.state && page.state.clock ? page.state.clock.zone : undefined;
  const moment = new Date(seconds * 1000);
  const options = { month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", hourCycle: "h23" };
  try {
    return moment.toLocaleString([], { ...options, timeZone: zone });
  } catch (error) {
    return moment.toLocaleString([], options);
  }
}

function groupAlbums(messages) {
  // consecutive messages of one media group (the user's photos, or an album the bot sent)
  // become one message, as Telegram shows an album
  const groups = [];
  for (const message of messages) {
    const previous = groups[groups.length - 1];
    if (message.media_group_id && previous && previous.media_group_id === message.media_group_id) {
      previous.album.push(message);
    } else {
      groups.push({ ...message, album: [message] });
    }
  }
  return groups;
}

function renderMessage(message) {
  const fromBot = Boolean(message.from && message.from.is_bot);
  const wrapper = document.createElement("div");
  wrapper.className = `msg ${fromBot ? "bot" : "me"}`;
  wrapper.dataset.messageId = message.message_id;
  const bubble = document.createElement("div");
  bubble.className = "bubble";
  const photos = message.album.filter((m) => m.photo);
  if (photos.length) {
    const grid = document.createElement("div");
    grid.className = "photos";
    if (photos.length > 1) grid.dataset.album = message.media_group_id;
    for (const m of photos) {
      const image = document.createElement("img");
      const largest = m.photo[m.photo.length - 1];
      image.src = fileUrl(largest.file_id);
      image.alt = words("message.photo");
      grid.append(image);
    }
    bubble.append(grid);
  }
  for (const m of message.album.filter((m) => m.document)) {
    // an album of files shows each, one under the other
    const link = document.createElement("a");
    link.className = "document";
    link.href = fileUrl(m.document.file_id);
    link.download = m.document.file_name || "file";
    link.textContent = t("message.file", { name: m.document.file_name || words("message.file.unnamed") });
    bubble.append(link, document.createElement("br"));
  }
  if (message.location) {
    const { latitude, longitude } = message.location;
    bubble.append(t("message.location", { latitude, longitude }));
  }
  const text = message.text || message.album.map((m) => m.caption).filter(Boolean).join("\n");
  if (text) {
    const span = document.createElement("span");
    span.className = "text";
    linkify(text, span);
    bubble.append(span);
  }
  const meta = document.createElement("div");
  meta.className = "meta";
  const moment = time(message.edit_date || message.date);
  meta.textContent = message.edit_date ? t("message.edited", { time: moment }) : moment;
  bubble.append(meta);
  wrapper.append(bubble);
  const rows = (message.reply_markup && message.reply_markup.inline_keyboard) || [];
  if (rows.length) {
    const keyboard = document.createElement("div");
    keyboard.className = "keyboard inline";
    for (const row of rows) {
      const line = document.createElement("div");
      line.className = "row";
      for (const button of row) {
        const element = document.createElement("button");
        element.type = "button";
        element.className = "inline-btn";
        element.textContent = button.text;
        if (button.url) {
          element.addEventListener("click", () => window.open(button.url, "_blank"));
        } else if (button.web_app) {
          element.classList.add("web-app");
          element.addEventListener("click", () => openWebApp(button.web_app.url, button.text));
        } else {
          element.addEventListener("click", () => press(message.message_id, button.callback_data, element));
        }
        line.append(element);
      }
      keyboard.append(line);
    }
    wrapper.append(keyboard);
  }
  return wrapper;
}

function renderChat() {
  const box = $("messages");
  const atBottom = box.scrollHeight - box.scrollTop - box.clientHeight < 40;
  box.replaceChildren(...groupAlbums(page.chat.messages).map(renderMessage));
  if (!page.chat.messages.length) {
    const empty = document.createElement("div");
    empty.className = "system";
    empty.textContent = words("chat.empty");
    box.append(empty);
  }
  if (atBottom || page.scrollDown) box.scrollTop = box.scrollHeight;
  page.scrollDown = false;
  renderReplyKeyboard();
  renderMenuButton();
}

function renderReplyKeyboard() {
  const box = $("reply-keyboard");
  const markup = page.chat && page.chat.reply_keyboard;
  box.hidden = !markup;
  box.replaceChildren();
  if (!markup) return;
  const keyboard = document.createElement("div");
  keyboard.className = "keyboard reply";
  for (const row of markup.keyboard) {
    const line = document.createElement("div");
    line.className = "row";
    for (const button of row) {
      const label = typeof button === "string" ? button : button.text;
      const element = document.createElement("button");
      element.type = "button";
      element.textContent = label;
      element.addEventListener("click", () => {
        if (button.request_location) $("location").showModal();
        else sendText(label);
      });
      line.append(element);
    }
    keyboard.append(line);
  }
  box.append(keyboard);
}

// --- acting ------------------------------------------------------------------------------------

async function sendText(text) {
  if (!text.trim() || page.current === null) return;
  page.scrollDown = true;
  await api("send", { user: page.current, text });
}

async function press(messageId, data, element) {
  element.disabled = true;
  try {
    const reply = await api("press", { user: page.current, message_id: messageId, data });
    const answer = reply.answer;
    if (answer && answer.text) {
      if (answer.show_alert) showAlert(answer.text);
      else showToast(answer.text);
    }
  } finally {
    element.disabled = false;
  }
}

async function upload(kind, files) {
  if (!files.length || page.current === null) return;
  const form = new FormData();
  for (const file of files) form.append("file", file, file.name);
  const query = new URLSearchParams({ user: page.current, kind, caption: $("caption").value });
  page.scrollDown = true;
  const reply = await fetch(`/web/api/upload?${query}`, {
    method: "POST",
    headers: { [TOKEN_HEADER]: TOKEN },
    body: form,
  });
  if (!reply.ok) showToast((await reply.json()).error);
  $("caption").value = "";
}

function openDeepLink(startCode) {
  $("deep-link-prompt").replaceChildren(
    ...wordParts("deep_link.prompt", { target: code(`start=${startCode}`), start: code("/start") }),
  );
  $("deep-link-person").value = String(page.current);
  const dialog = $("deep-link");
  dialog.returnValue = "";
  dialog.onclose = async () => {
    if (dialog.returnValue !== "open") return;
    const who = Number($("deep-link-person").value);
    await openChat(who);
    await sendText(`/start ${startCode}`);
  };
  dialog.showModal();
}

let toastTimer = null;
function showToast(text) {
  const toast = $("toast");
  toast.textContent = text;
  toast.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => { toast.hidden = true; }, 4000);
}

function showAlert(text) {
  $("alert-text").textContent = text;
  $("alert").showModal();
}

// --- commands offered on "/" -------------------------------------------------------------------

function renderCommands() {
  const box = $("commands");
  const value = $("text").value;
  const commands = (page.chat && page.chat.commands) || [];
  if (!/^\/\w*$/.test(value) || !commands.length) {
    box.hidden = true;
    return;
  }
  const typed = value.slice(1).toLowerCase();
  const matching = commands.filter((c) => c.command.startsWith(typed));
  box.replaceChildren(...matching.map((c) => {
    const line = document.createElement("div");
    line.className = "command";
    line.dataset.command = c.command;
    const name = document.createElement("b");
    name.textContent = `/${c.command}`;
    line.append(name, c.description);
    line.addEventListener("click", () => {
      $("text").value = "";
      box.hidden = true;
      sendText(`/${c.command}`);
    });
    return line;
  }));
  box.hidden = !matching.length;
}

// --- the menu button and the Mini App panel ---------------------------------------------------

// Telegram shows the bot's menu button beside the input: a Mini App's, else the commands' list
function renderMenuButton() {
  const button = $("menu-button");
  const menu = page.chat && page.chat.menu_button;
  if (menu && menu.type === "web_app") {
    button.hidden = false;
    button.className = "web-app";
    button.textContent = menu.text;
    button.title = menu.text;
    button.onclick = () => openWebApp(menu.web_app.url, menu.text);
  } else if (page.chat && page.chat.commands.length) {
    button.hidden = false;
    button.className = "commands";
    button.textContent = words("menu.commands");
    button.title = words("menu.commands.title");
    button.onclick = () => {
      $("text").value = "/";
      renderCommands();
      $("text").focus();
    };
  } else {
    button.hidden = true;
  }
}

// The emulator signs the person's initData as Telegram would and appends the launch parameters.
async function openWebApp(url, title) {
  const reply = await api("webapp", { user: page.current, url });
  page.webApp = { user: page.current };
  $("mini-app-title").textContent = title;
  $("mini-app-frame").src = reply.url;
  $("mini-app").hidden = false;
}

function closeWebApp() {
  page.webApp = null;
  $("mini-app-back").hidden = true;
  $("mini-app").hidden = true;
  $("mini-app-frame").src = "about:blank";
}

// The Mini App talks to its parent as it does to Telegram's web clients: a JSON string of
// {eventType, eventData} through postMessage.
async function onWebAppEvent(event) {
  if (!page.webApp || event.source !== $("mini-app-frame").contentWindow) return;
  let message = event.data;
  try {
    if (typeof message === "string") message = JSON.parse(message);
  } catch (error) {
    return;
  }
  if (!message || typeof message.eventType !== "string") return;
  const data = message.eventData || {};
  if (message.eventType === "web_app_close") {
    closeWebApp();
  } else if (message.eventType === "web_app_open_tg_link") {
    const bot = page.state && page.state.bot;
    const link = /^\/([A-Za-z0-9_]+)\?start=([A-Za-z0-9_-]{1,64})$/.exec(String(data.path_full || ""));
    if (!link || !bot || link[1].toLowerCase() !== bot.username.toLowerCase()) {
      showToast(words("mini_app.foreign_link"));
      return;
    }
    const who = page.webApp.user;
    closeWebApp();
    if (page.current !== who) await openChat(who);
    await sendText(`/start ${link[2]}`);
  } else if (message.eventType === "web_app_setup_back_button") {
    // the Mini App's own back button, which Telegram shows in the panel's header
    $("mini-app-back").hidden = !data.is_visible;
  } else if (message.eventType === "web_app_open_link") {
    const url = String(data.url || "");
    if (/^https?:\/\//.test(url)) window.open(url, "_blank", "noopener");
  }
}

// --- the clock ---------------------------------------------------------------------------------

function renderClock() {
  const clock = page.state.clock;
  $("clock").hidden = !clock;
  if (!clock) return;
  const [date, rest] = clock.now.split("T");
  const weekday = words("clock.weekdays").split(" ")[clock.isoweekday - 1];
  $("clock-now").textContent = t("clock.now", { weekday, date, time: rest.slice(0, 5), zone: clock.zone });
  if (!$("advance-date").value) $("advance-date").value = clock.now.slice(0, 16);
}

async function advance(body) {
  $("clock-busy").hidden = false;
  document.querySelectorAll("#clock button").forEach((b) => { b.disabled = true; });
  try {
    const reply = await api("clock", body);
    page.state.clock = reply.clock;
    $("advance-date").value = "";
    renderClock();
  } finally {
    $("clock-busy").hidden = true;
    document.querySelectorAll("#clock button").forEach((b) => { b.disabled = false; });
  }
}

// --- refreshing --------------------------------------------------------------------------------

async function refresh(scrollDown = false) {
  if (page.pending) {
    page.again = true;
    return;
  }
  page.pending = true;
  try {
    page.state = await api("state");
    followLanguage();
    renderBotName();
    if (page.current !== null) {
      const read = document.visibilityState === "visible" ? "1" : "0";
      page.chat = await api(`chat?user=${page.current}&read=${read}`);
      if (scrollDown) page.scrollDown = true;
      renderChat();
      renderCommands();
    }
    renderPeople();
    renderClock();
    document.body.dataset.version = page.state.version;
  } finally {
    page.pending = false;
  }
  if (page.again) {
    page.again = false;
    await refresh();
  }
}

function renderBotName() {
  const bot = page.state.bot;
  $("bot-name").textContent = bot ? t("bot.name", { username: bot.username }) : words("bot.waiting");
}

function listen() {
  const events = new EventSource(`/web/api/events?token=${encodeURIComponent(TOKEN)}`);
  events.onmessage = () => refresh();
  events.onerror = () => { $("bot-name").textContent = words("bot.connection_lost"); };
}

function wire() {
  $("composer").addEventListener("submit", async (event) => {
    event.preventDefault();
    const text = $("text").value;
    $("text").value = "";
    $("commands").hidden = true;
    await sendText(text);
  });
  $("text").addEventListener("input", renderCommands);
  $("photo-input").addEventListener("change", async (event) => {
    await upload("photo", [...event.target.files]);
    event.target.value = "";
  });
  $("document-input").addEventListener("change", async (event) => {
    await upload("document", [...event.target.files]);
    event.target.value = "";
  });
  $("location-button").addEventListener("click", () => $("location").showModal());
  $("mini-app-close").addEventListener("click", closeWebApp);
  $("mini-app-back").addEventListener("click", () => {
    const frame = $("mini-app-frame").contentWindow;
    if (frame) frame.postMessage(JSON.stringify({ eventType: "back_button_pressed" }), "*");
  });
  window.addEventListener("message", onWebAppEvent);
  $("location").addEventListener("close", async () => {
    if ($("location").returnValue !== "send") return;
    $("location").returnValue = "";
    await api("location", {
      user: page.current,
      latitude: Number($("latitude").value),
      longitude: Number($("longitude").value),
    });
  });
  $("add-person").addEventListener("submit", async (event) => {
    event.preventDefault();
    const reply = await api("people", { name: $("new-name").value, language: $("new-language").value });
    $("new-name").value = "";
    await refresh();
    await openChat(reply.id);
  });
  $("advance-hour").addEventListener("click", () => advance({ hours: 1 }));
  $("advance-day").addEventListener("click", () => advance({ days: 1 }));
  $("advance-to").addEventListener("click", () => {
    const value = $("advance-date").value;
    if (value) advance({ to: value });
  });
  document.addEventListener("visibilitychange", () => refresh());
  $("people-open").addEventListener("click", openDrawer);
  $("people-close").addEventListener("click", closeDrawer);
  $("drawer-backdrop").addEventListener("click", closeDrawer);
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape") closeDrawer();
  });
}

async function main() {
  WORDS = await (await fetch("/web/static/words.json")).json();
  wire();
  await refresh();
  // a person added speaks the deployment's language unless told otherwise, as the demo people do
  $("new-language").value = chosenLanguage().toLowerCase();
  const fromHash = Number(location.hash.slice(1));
  if (fromHash) await openChat(fromHash);
  listen();
}

main();
