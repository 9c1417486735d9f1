// window.Telegram.WebApp for the web chat's panel (the local emulator), built from the address's
// hash as Telegram's own script builds it, and talking to the web chat the way Telegram's web
// clients do: postMessage({eventType, eventData}) to the parent window. Only when the hash says
// tgWebAppPlatform=emulator; inside Telegram, Telegram's script is used instead.
(function () {
  "use strict";
  const launch = new URLSearchParams(window.location.hash.slice(1));
  if (launch.get("tgWebAppPlatform") !== "emulator") return;

  const initData = launch.get("tgWebAppData") || "";
  const initDataUnsafe = {};
  for (const [key, value] of new URLSearchParams(initData)) {
    if (["user", "receiver", "chat"].includes(key)) {
      try { initDataUnsafe[key] = JSON.parse(value); } catch (error) { /* left out, as Telegram does */ }
    } else {
      initDataUnsafe[key] = value;
    }
  }

  let themeParams = {};
  try { themeParams = JSON.parse(launch.get("tgWebAppThemeParams") || "{}"); } catch (error) { themeParams = {}; }
  // the same CSS variables Telegram's script sets, so the page's style follows either alike
  for (const [key, value] of Object.entries(themeParams)) {
    document.documentElement.style.setProperty(`--tg-theme-${key.replace(/_/g, "-")}`, value);
  }
  const dark = window.matchMedia && window.matchMedia("(prefers-color-scheme: dark)").matches;

  function post(eventType, eventData) {
    // in the web chat's panel the parent listens; opened alone, the page posts to itself (harmless)
    window.parent.postMessage(JSON.stringify({ eventType, eventData: eventData || {} }), "*");
  }

  const backHandlers = [];
  const BackButton = {
    isVisible: false,
    show() { this.isVisible = true; post("web_app_setup_back_button", { is_visible: true }); return this; },
    hide() { this.isVisible = false; post("web_app_setup_back_button", { is_visible: false }); return this; },
    onClick(handler) { if (!backHandlers.includes(handler)) backHandlers.push(handler); return this; },
    offClick(handler) {
      const at = backHandlers.indexOf(handler);
      if (at >= 0) backHandlers.splice(at, 1);
      return this;
    },
  };
  // the web chat may press the back button it shows for the panel
  window.addEventListener("message", (event) => {
    let message = event.data;
    if (typeof message === "string") {
      try { message = JSON.parse(message); } catch (error) { return; }
    }
    if (message && message.eventType === "back_button_pressed") backHandlers.slice().forEach((h) => h());
  });

  window.Telegram = window.Telegram || {};
  window.Telegram.WebApp = {
    initData,
    initDataUnsafe,
    version: launch.get("tgWebAppVersion") || "8.0",
    platform: "emulator",
    colorScheme: dark ? "dark" : "light",
    themeParams,
    isExpanded: true,
    BackButton,
    isVersionAtLeast(version) {
      const have = this.version.split(".").map(Number);
      const want = String(version).split(".").map(Number);
      for (let i = 0; i < Math.max(have.length, want.length); i += 1) {
        if ((have[i] || 0) !== (want[i] || 0)) return (have[i] || 0) > (want[i] || 0);
      }
      return true;
    },
    ready() { post("web_app_ready"); },
    expand() { post("web_app_expand"); },
    close() { post("web_app_close"); },
    openTelegramLink(url) {
      const link = new URL(url, "https://t.me/");
      post("web_app_open_tg_link", { path_full: link.pathname + link.search });
    },
    openLink(url) { window.open(url, "_blank", "noopener"); },
    downloadFile({ url, file_name: fileName }) {
      // the panel is an ordinary frame: a link with `download` saves the file as a browser does
      const link = document.createElement("a");
      link.href = url;
      link.download = fileName || "";
      link.rel = "noopener";
      document.body.appendChild(link);
      link.click();
      link.remove();
    },
  };
}());
