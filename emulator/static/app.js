// The web chat of the local Bot API emulator: plain JavaScript, no build step.
// It reads /web/api/state and /web/api/chat, acts through POSTs, and refreshes on every
// server-sent event (the emulator's change counter).
"use strict";

const page = {
  state: null,
  current: null, // the user id whose chat is open
  chat: null,
  pending: false,
};

const $ = (id) => document.getElementById(id);

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
    showToast(data.error || `error ${reply.status}`);
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
    item.addEventListener("click", () => openChat(person.id));
    list.append(item);
  }
  const select = $("deep-link-person");
  select.replaceChildren(...page.state.people.map((p) => new Option(p.name, p.id)));
}

function personName(id) {
  const person = page.state && page.state.people.find((p) => p.id === id);
  return person ? person.name : String(id);
}

async function openChat(id) {
  page.current = id;
  history.replaceState(null, "", `#${id}`);
  $("chat-title").textContent = personName(id);
  $("text").disabled = $("send").disabled = false;
  page.chat = null;
  await refresh(true);
  $("text").focus();
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
      link.title = "a deep link: opens the chat with /start and its code";
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
      image.alt = "photo";
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
    link.textContent = `File: ${m.document.file_name || "file"}`;
    bubble.append(link, document.createElement("br"));
  }
  if (message.location) {
    bubble.append(`Location: ${message.location.latitude}, ${message.location.longitude}`);
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
  meta.textContent = (message.edit_date ? "edited " : "") + time(message.edit_date || message.date);
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
    empty.textContent = "No messages yet. Type /start to begin.";
    box.append(empty);
  }
  if (atBottom || page.scrollDown) box.scrollTop = box.scrollHeight;
  page.scrollDown = false;
  renderReplyKeyboard();
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

function openDeepLink(code) {
  $("deep-link-target").textContent = `start=${code}`;
  $("deep-link-person").value = String(page.current);
  const dialog = $("deep-link");
  dialog.returnValue = "";
  dialog.onclose = async () => {
    if (dialog.returnValue !== "open") return;
    const who = Number($("deep-link-person").value);
    await openChat(who);
    await sendText(`/start ${code}`);
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

// --- the clock ---------------------------------------------------------------------------------

function renderClock() {
  const clock = page.state.clock;
  $("clock").hidden = !clock;
  if (!clock) return;
  const [date, rest] = clock.now.split("T");
  $("clock-now").textContent = `${clock.weekday} ${date} ${rest.slice(0, 5)} (${clock.zone})`;
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
    const bot = page.state.bot;
    $("bot-name").textContent = bot ? `Bot: @${bot.username}` : "Waiting for a bot to connect…";
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

function listen() {
  const events = new EventSource(`/web/api/events?token=${encodeURIComponent(TOKEN)}`);
  events.onmessage = () => refresh();
  events.onerror = () => { $("bot-name").textContent = "Connection lost; retrying…"; };
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
}

async function main() {
  wire();
  await refresh();
  const fromHash = Number(location.hash.slice(1));
  if (fromHash) await openChat(fromHash);
  listen();
}

main();
