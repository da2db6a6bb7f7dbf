/*
 * Convodesk web chat widget. One <script> tag on any website:
 *   <script src="https://desk.example.com/widget/<account id>/widget.js" async></script>
 * The server fills in the config below (where to call, title, greeting, colour).
 *
 * Self-contained on purpose: no framework, no globals besides one guard, everything
 * inside a Shadow DOM so the host page's CSS cannot break the widget (and ours cannot
 * leak out). Message text is only ever set with textContent.
 *
 * The visitor's token lives in the host page's localStorage: a reload, or another tab,
 * is the same visitor with the same history. Live messages come over a websocket that
 * resumes after the last event id it saw, so a reconnect misses nothing.
 */
(function (CONFIG) {
  "use strict";
  if (!CONFIG || !window.WebSocket || !window.fetch || !Element.prototype.attachShadow) return;
  if (document.body) boot();
  // loaded from <head> before the body exists: start once it does
  else document.addEventListener("DOMContentLoaded", boot);

  function boot() {
    var guard = (window.__convodeskWidgets = window.__convodeskWidgets || {});
    if (guard[CONFIG.account_id]) return; // the snippet pasted twice
    guard[CONFIG.account_id] = true;

    var API = CONFIG.base + "/widget/" + CONFIG.account_id;
    var WS_URL = API.replace(/^http/, "ws") + "/ws";
    var KEY = "convodesk-widget:" + CONFIG.account_id;
    var COLOR = /^#[0-9a-f]{3}([0-9a-f]{3})?$/i.test(CONFIG.color) ? CONFIG.color : "#2563eb";
    var MAX_TEXT = 5000;

    // --- saved state (token, name, email, open) --------------------------------------
    var saved = {};
    try {
      saved = JSON.parse(window.localStorage.getItem(KEY) || "{}") || {};
    } catch (e) {
      saved = {};
    }
    function save() {
      try {
        window.localStorage.setItem(KEY, JSON.stringify(saved));
      } catch (e) {
        /* private mode: this page view still works */
      }
    }

    // --- DOM ---------------------------------------------------------------------------
    var CSS = [
      ":host{all:initial}",
      ".cd{--accent:#2563eb;position:fixed;right:20px;bottom:20px;z-index:2147483000;",
      "font:14px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;color:#1f2328}",
      ".cd *{box-sizing:border-box}",
      ".launcher{width:56px;height:56px;border-radius:50%;border:0;background:var(--accent);",
      "color:#fff;cursor:pointer;box-shadow:0 4px 14px rgba(0,0,0,.25);display:flex;",
      "align-items:center;justify-content:center;position:relative;margin-left:auto}",
      ".launcher svg{width:26px;height:26px;fill:currentColor}",
      ".launcher:focus-visible,button:focus-visible,textarea:focus-visible,input:focus-visible,",
      "summary:focus-visible{outline:3px solid #f59e0b;outline-offset:2px}",
      ".badge{position:absolute;top:-2px;right:-2px;min-width:20px;height:20px;padding:0 5px;",
      "border-radius:10px;background:#dc2626;color:#fff;font-size:12px;line-height:20px}",
      ".badge[hidden]{display:none}",
      ".panel{position:absolute;right:0;bottom:68px;width:360px;max-width:calc(100vw - 24px);",
      "height:520px;max-height:calc(100vh - 100px);background:#fff;border-radius:14px;",
      "box-shadow:0 10px 40px rgba(0,0,0,.25);display:flex;flex-direction:column;overflow:hidden}",
      ".panel[hidden]{display:none}",
      "header{background:var(--accent);color:#fff;padding:12px 14px;display:flex;",
      "align-items:center;gap:8px}",
      "header h2{font-size:16px;margin:0;flex:1;font-weight:600;overflow:hidden;",
      "text-overflow:ellipsis;white-space:nowrap}",
      ".close{background:transparent;border:0;color:#fff;font-size:22px;line-height:1;",
      "cursor:pointer;padding:2px 8px;border-radius:6px}",
      ".conn{font-size:12px;color:#6b7280;text-align:center;padding:2px 8px}",
      ".conn:empty{display:none}",
      ".log{flex:1;overflow-y:auto;background:#f7f7f9}",
      ".msgs{list-style:none;margin:0;padding:12px;display:flex;flex-direction:column;gap:8px}",
      ".msg{max-width:80%;padding:8px 11px;border-radius:14px;white-space:pre-wrap;",
      "overflow-wrap:anywhere}",
      ".msg.agent{align-self:flex-start;background:#fff;border:1px solid #e5e7eb;",
      "border-bottom-left-radius:4px}",
      ".msg.visitor{align-self:flex-end;background:var(--accent);color:#fff;",
      "border-bottom-right-radius:4px}",
      ".who{display:block;font-size:11px;font-weight:600;opacity:.75;margin-bottom:2px}",
      ".meta{display:block;font-size:11px;opacity:.75;margin-top:2px;text-align:right}",
      ".meta:empty{display:none}",
      ".msg.failed{background:#fee2e2;color:#7f1d1d}",
      ".retry{background:transparent;border:0;color:inherit;text-decoration:underline;",
      "cursor:pointer;font:inherit;padding:0 2px}",
      ".msg a{color:inherit}",
      ".identify{border-top:1px solid #e5e7eb;padding:6px 12px;font-size:13px}",
      ".identify summary{cursor:pointer;color:#374151}",
      ".identify form{display:flex;flex-direction:column;gap:6px;margin-top:6px}",
      ".identify label{display:flex;flex-direction:column;font-size:12px;color:#4b5563}",
      ".identify input{font:inherit;padding:6px 8px;border:1px solid #d1d5db;border-radius:8px}",
      ".identify .note{margin:4px 0 0;font-size:12px;color:#047857}",
      ".identify .note.error{color:#b91c1c}",
      ".identify .note:empty{display:none}",
      ".composer{display:flex;gap:8px;padding:10px 12px;border-top:1px solid #e5e7eb}",
      ".composer textarea{flex:1;resize:none;font:inherit;padding:8px 10px;",
      "border:1px solid #d1d5db;",
      "border-radius:10px;min-height:40px;max-height:120px}",
      ".primary{background:var(--accent);color:#fff;border:0;border-radius:10px;padding:0 14px;",
      "font:inherit;font-weight:600;cursor:pointer;min-height:36px}",
      ".survey{align-self:stretch;max-width:none;background:#fff;border:1px solid #e5e7eb;",
      "border-radius:14px;white-space:normal}",
      ".survey p{margin:0 0 8px}",
      ".stars{display:flex;gap:6px;margin:0 0 8px}",
      ".stars button{flex:1;min-height:36px;border:1px solid #d1d5db;border-radius:8px;",
      "background:#fff;color:#1f2328;font:inherit;font-weight:600;cursor:pointer}",
      ".stars button[aria-pressed=true]{background:var(--accent);border-color:var(--accent);",
      "color:#fff}",
      ".survey textarea{width:100%;font:inherit;padding:6px 8px;border:1px solid #d1d5db;",
      "border-radius:8px;resize:vertical;min-height:40px;margin:0 0 8px}",
      ".survey .scale{display:flex;justify-content:space-between;font-size:11px;color:#4b5563;",
      "margin:-4px 0 8px}",
      ".survey .note{font-size:12px;color:#b91c1c;margin:6px 0 0}",
      ".survey .note:empty{display:none}",
      ".sr{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);",
      "white-space:nowrap}",
      "@media (max-width:480px){.cd{right:12px;bottom:12px}",
      ".panel.open{position:fixed;inset:0;width:100%;max-width:none;height:100%;max-height:none;",
      "border-radius:0}}",
    ].join("");

    function el(tag, attrs, children) {
      var node = document.createElement(tag);
      for (var name in attrs || {}) {
        if (name === "text") node.textContent = attrs[name];
        else node.setAttribute(name, attrs[name]);
      }
      (children || []).forEach(function (child) {
        node.appendChild(child);
      });
      return node;
    }

    var host = el("div", { "data-convodesk-widget": CONFIG.account_id });
    var shadow = host.attachShadow({ mode: "open" });
    var style = el("style", { text: CSS });
    var icon = document.createElementNS("http://www.w3.org/2000/svg", "svg");
    icon.setAttribute("viewBox", "0 0 24 24");
    icon.setAttribute("aria-hidden", "true");
    var iconPath = document.createElementNS("http://www.w3.org/2000/svg", "path");
    iconPath.setAttribute(
      "d",
      "M4 3h16a2 2 0 0 1 2 2v11a2 2 0 0 1-2 2H8l-5 4V5a2 2 0 0 1 2-2z"
    );
    icon.appendChild(iconPath);
    var badge = el("span", { class: "badge", hidden: "" });
    var launcher = el(
      "button",
      {
        type: "button",
        class: "launcher",
        "aria-label": "Open chat",
        "aria-expanded": "false",
        "aria-controls": "cd-panel",
      },
      [icon, badge]
    );
    var title = el("h2", { id: "cd-title", text: CONFIG.title });
    var closeBtn = el("button", {
      type: "button",
      class: "close",
      "aria-label": "Close chat",
      text: "\u00d7",
    });
    var conn = el("div", { class: "conn", role: "status", "aria-live": "polite" });
    // The live region is a box around the list, not the list itself: role="log" on the
    // <ol> would hide that it is a list, and its items would belong to nothing (axe).
    var list = el("ol", { class: "msgs" });
    var log = el(
      "div",
      { class: "log", role: "log", "aria-live": "polite", "aria-label": "Messages" },
      [list]
    );
    var greeting = el("li", { class: "msg agent greeting" }, [
      el("span", { class: "who", text: "Support" }),
      el("span", { class: "text", text: CONFIG.greeting }),
    ]);
    list.appendChild(greeting);

    var nameInput = el("input", { name: "name", autocomplete: "name", maxlength: "100" });
    var emailInput = el("input", {
      name: "email",
      type: "email",
      autocomplete: "email",
      maxlength: "254",
      required: "",
    });
    var identifyNote = el("p", { class: "note", role: "status" });
    var identifyForm = el("form", { class: "identify-form", novalidate: "" }, [
      el("label", {}, [document.createTextNode("Name"), nameInput]),
      el("label", {}, [document.createTextNode("Email"), emailInput]),
      el("button", { type: "submit", class: "primary", text: "Save" }),
    ]);
    var identify = el("details", { class: "identify" }, [
      el("summary", { text: "Leave your name and email so we can reply by email" }),
      identifyForm,
      identifyNote,
    ]);

    var input = el("textarea", {
      id: "cd-input",
      rows: "1",
      maxlength: String(MAX_TEXT),
      placeholder: "Type a message\u2026",
    });
    var composer = el("form", { class: "composer" }, [
      el("label", { class: "sr", for: "cd-input", text: "Message" }),
      input,
      el("button", {
        type: "submit",
        class: "primary",
        "aria-label": "Send message",
        text: "Send",
      }),
    ]);
    var panel = el(
      "section",
      { id: "cd-panel", class: "panel", role: "dialog", "aria-labelledby": "cd-title", hidden: "" },
      [el("header", {}, [title, closeBtn]), conn, log, identify, composer]
    );
    var wrap = el("div", { class: "cd" }, [panel, launcher]);
    wrap.style.setProperty("--accent", COLOR);
    shadow.appendChild(style);
    shadow.appendChild(wrap);
    document.body.appendChild(host);

    // --- calls -------------------------------------------------------------------------
    function call(method, path, body) {
      var headers = {};
      if (saved.token) headers["X-Widget-Token"] = saved.token;
      if (body !== undefined) headers["Content-Type"] = "application/json";
      return fetch(API + path, {
        method: method,
        headers: headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        credentials: "omit",
        mode: "cors",
      }).then(function (response) {
        return response
          .json()
          .catch(function () {
            return {};
          })
          .then(function (data) {
            if (response.ok) return data;
            var error = new Error((data.error && data.error.message) || "HTTP " + response.status);
            error.status = response.status;
            throw error;
          });
      });
    }

    var sessionPromise = null;
    function session() {
      if (!sessionPromise) {
        sessionPromise = call("POST", "/session")
          .catch(function (error) {
            if (error.status !== 401) throw error;
            saved.token = null; // a token from another widget or an old key: start over
            return call("POST", "/session");
          })
          .then(function (data) {
            saved.token = data.token;
            save();
            return data;
          })
          .catch(function (error) {
            sessionPromise = null;
            throw error;
          });
      }
      return sessionPromise;
    }

    function restart() {
      // The server no longer takes our token: forget it and start as a new visitor.
      saved.token = null;
      save();
      sessionPromise = null;
      since = null;
      return start();
    }

    // --- messages ----------------------------------------------------------------------
    var byId = {};
    var byClient = {};
    var unread = 0;

    function bubble(author) {
      var node = el("li", { class: "msg " + author }, [
        el("span", { class: "who" }),
        el("span", { class: "text" }),
        el("span", { class: "files" }),
        el("span", { class: "meta" }),
      ]);
      list.appendChild(node);
      return node;
    }

    function part(node, name) {
      return node.querySelector("." + name);
    }

    function showFiles(node, medias) {
      var box = part(node, "files");
      box.textContent = "";
      (medias || []).forEach(function (media) {
        if (!/^https?:\/\//i.test(media.url || "")) return;
        var link = el("a", { target: "_blank", rel: "noopener noreferrer" });
        link.href = media.url;
        link.textContent = media.name || media.type || "attachment";
        box.appendChild(el("span", { style: "display:block" }, [link]));
      });
    }

    function scrollDown() {
      log.scrollTop = log.scrollHeight;
    }

    function show(message) {
      var node = byId[message.id] || (message.client_id && byClient[message.client_id]);
      var fresh = !node;
      if (fresh) node = bubble(message.author);
      node.classList.remove("failed");
      node.dataset.id = message.id;
      byId[message.id] = node;
      if (message.client_id) {
        node.dataset.clientId = message.client_id;
        delete byClient[message.client_id];
      }
      part(node, "who").textContent = message.author === "agent" ? message.sender_name : "You";
      part(node, "text").textContent = message.text;
      showFiles(node, message.medias);
      var meta = part(node, "meta");
      meta.textContent = message.status === "failed" ? "Not delivered" : "";
      if (fresh) {
        scrollDown();
        if (message.author === "agent" && panel.hidden && message.live) {
          unread += 1;
          showUnread();
        }
      }
    }

    function showUnread() {
      badge.hidden = unread === 0;
      badge.textContent = unread ? String(unread) : "";
      launcher.setAttribute("aria-label", unread ? "Open chat (" + unread + " new)" : "Open chat");
    }

    function newClientId() {
      var bytes = new Uint8Array(12);
      (window.crypto || window.msCrypto).getRandomValues(bytes);
      return Array.prototype.map
        .call(bytes, function (b) {
          return ("0" + b.toString(16)).slice(-2);
        })
        .join("");
    }

    function send(text, clientId, node, attempt) {
      attempt = attempt || 1;
      session()
        .then(function () {
          return call("POST", "/messages", { text: text, client_id: clientId });
        })
        .then(function (message) {
          show(message);
          connect();
        })
        .catch(function (error) {
          if (error.status === 401) {
            restart().then(function () {
              send(text, clientId, node, attempt + 1);
            });
            return;
          }
          var transient = !error.status || error.status >= 500 || error.status === 429;
          if (transient && attempt < 4) {
            // same client_id: if the first try did arrive, the server keeps just one
            setTimeout(function () {
              send(text, clientId, node, attempt + 1);
            }, 1000 * attempt);
            return;
          }
          failed(node, error.message, text, clientId);
        });
    }

    function failed(node, reason, text, clientId) {
      node.classList.add("failed");
      var meta = part(node, "meta");
      meta.textContent = "Not sent (" + reason + ") ";
      var again = el("button", { type: "button", class: "retry", text: "Retry" });
      again.addEventListener("click", function () {
        node.classList.remove("failed");
        meta.textContent = "Sending\u2026";
        send(text, clientId, node, 1);
      });
      meta.appendChild(again);
    }

    composer.addEventListener("submit", function (event) {
      event.preventDefault();
      var text = input.value;
      if (!text.trim()) return;
      var clientId = newClientId();
      var node = bubble("visitor");
      node.dataset.clientId = clientId;
      byClient[clientId] = node;
      part(node, "who").textContent = "You";
      part(node, "text").textContent = text;
      part(node, "meta").textContent = "Sending\u2026";
      scrollDown();
      input.value = "";
      lastTyping = 0; // the next message's first keystroke tells the desk again
      send(text, clientId, node, 1);
    });

    // "Visitor is typing…" at the desk: a `typing` frame while the visitor types, at most
    // every TYPING_EVERY ms (the desk forgets it a few seconds after the last one).
    var TYPING_EVERY = 2000;
    var lastTyping = 0;
    input.addEventListener("input", function () {
      var now = Date.now();
      if (!input.value.trim() || now - lastTyping < TYPING_EVERY) return;
      if (!socket || socket.readyState !== 1) return;
      lastTyping = now;
      socket.send(JSON.stringify({ type: "typing" }));
    });

    input.addEventListener("keydown", function (event) {
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        if (composer.requestSubmit) composer.requestSubmit();
        else composer.dispatchEvent(new Event("submit", { cancelable: true }));
      }
    });

    // --- the satisfaction survey: a card of five buttons and a comment ------------------
    var surveyCard = null;

    function showSurvey(survey) {
      if (!survey || (surveyCard && surveyCard.dataset.survey === survey.id)) return;
      if (surveyCard) surveyCard.remove();
      var chosen = 0;
      var buttons = [1, 2, 3, 4, 5].map(function (n) {
        var b = el("button", {
          type: "button",
          "aria-pressed": "false",
          "aria-label": n + " of 5",
          text: String(n),
        });
        b.addEventListener("click", function () {
          chosen = n;
          buttons.forEach(function (other, i) {
            other.setAttribute("aria-pressed", i + 1 === n ? "true" : "false");
          });
        });
        return b;
      });
      var comment = el("textarea", {
        id: "cd-csat-comment",
        rows: "2",
        maxlength: "5000",
        placeholder: "Anything to add? (optional)",
      });
      var note = el("p", { class: "note", role: "status" });
      var question = el("p", { id: "cd-csat-q", text: survey.question });
      var form = el("form", { class: "survey-form" }, [
        question,
        el("div", { class: "stars", role: "group", "aria-labelledby": "cd-csat-q" }, buttons),
        el("div", { class: "scale", "aria-hidden": "true" }, [
          el("span", { text: "poor" }),
          el("span", { text: "great" }),
        ]),
        el("label", { class: "sr", for: "cd-csat-comment", text: "Comment" }),
        comment,
        el("button", { type: "submit", class: "primary", text: "Send rating" }),
        note,
      ]);
      surveyCard = el("li", { class: "msg agent survey" }, [form]);
      surveyCard.dataset.survey = survey.id;
      list.appendChild(surveyCard);
      scrollDown();

      function thanks(text) {
        form.textContent = "";
        form.appendChild(el("p", { class: "thanks", role: "status", text: text }));
      }

      form.addEventListener("submit", function (event) {
        event.preventDefault();
        if (!chosen) {
          note.textContent = "Choose a number from 1 to 5 first.";
          return;
        }
        note.textContent = "";
        var body = { survey_id: survey.id, rating: chosen, comment: comment.value };
        call("POST", "/csat", body)
          .then(function (rated) {
            thanks("Thank you for your rating (" + rated.rating + "/5)!");
          })
          .catch(function (error) {
            if (error.status === 409) thanks(error.message);
            else note.textContent = error.message;
          });
      });
    }

    // --- name and email ----------------------------------------------------------------
    function showIdentity() {
      if (saved.email) {
        nameInput.value = saved.name || "";
        emailInput.value = saved.email;
        identifyNote.className = "note";
        var thanks = "Thanks" + (saved.name ? ", " + saved.name : "") + "!";
        identifyNote.textContent = thanks + " We can also reply to " + saved.email + ".";
      }
    }

    identifyForm.addEventListener("submit", function (event) {
      event.preventDefault();
      var email = emailInput.value.trim();
      if (!email) {
        identifyNote.className = "note error";
        identifyNote.textContent = "Please enter your email address.";
        emailInput.focus();
        return;
      }
      identifyNote.className = "note";
      identifyNote.textContent = "Saving\u2026";
      session()
        .then(function () {
          return call("POST", "/identify", { name: nameInput.value.trim(), email: email });
        })
        .then(function (who) {
          saved.name = who.name;
          saved.email = who.email;
          save();
          showIdentity();
          connect();
        })
        .catch(function (error) {
          identifyNote.className = "note error";
          identifyNote.textContent = error.message;
        });
    });

    // --- history and the live connection ------------------------------------------------
    var since = null;
    var socket = null;
    var retryDelay = 1000;
    var reconnectTimer = null;

    function loadHistory() {
      return call("GET", "/messages").then(function (data) {
        data.messages.forEach(show);
        if (data.survey) showSurvey(data.survey);
        since = data.cursor;
      });
    }

    function setConn(text) {
      conn.textContent = text;
    }

    function connect() {
      if (socket || reconnectTimer || !saved.token) return;
      var url = WS_URL + "?token=" + encodeURIComponent(saved.token);
      if (since) url += "&since=" + encodeURIComponent(since);
      var ws = new WebSocket(url);
      socket = ws;
      ws.onmessage = function (event) {
        var frame;
        try {
          frame = JSON.parse(event.data);
        } catch (e) {
          return;
        }
        if (frame.type === "message") {
          frame.data.live = true;
          show(frame.data);
        } else if (frame.type === "survey") {
          showSurvey(frame.data);
        } else if (frame.type === "resync") {
          loadHistory();
        } else if (frame.type === "ready") {
          retryDelay = 1000;
          setConn("");
          host.setAttribute("data-state", "live");
        }
        if (frame.id) since = frame.id;
      };
      ws.onclose = function (event) {
        socket = null;
        host.setAttribute("data-state", "offline");
        if (event.code === 4401) {
          restart();
          return;
        }
        if (event.code === 4403 || event.code === 4404) {
          setConn("Chat is not available on this page.");
          return;
        }
        setConn("Reconnecting\u2026");
        var wait = retryDelay + Math.random() * 500;
        retryDelay = Math.min(retryDelay * 2, 30000);
        reconnectTimer = setTimeout(function () {
          reconnectTimer = null;
          connect();
        }, wait);
      };
    }

    var started = null;
    function start() {
      started = session()
        .then(loadHistory)
        .then(connect)
        .catch(function (error) {
          started = null;
          setConn("Chat is unavailable right now (" + error.message + ").");
        });
      return started;
    }

    // --- open and close ------------------------------------------------------------------
    function open() {
      panel.hidden = false;
      panel.classList.add("open");
      launcher.setAttribute("aria-expanded", "true");
      unread = 0;
      showUnread();
      saved.open = true;
      save();
      if (!started) start();
      scrollDown();
      input.focus();
    }

    function close() {
      panel.hidden = true;
      panel.classList.remove("open");
      launcher.setAttribute("aria-expanded", "false");
      saved.open = false;
      save();
      launcher.focus();
    }

    launcher.addEventListener("click", function () {
      if (panel.hidden) open();
      else close();
    });
    closeBtn.addEventListener("click", close);
    panel.addEventListener("keydown", function (event) {
      if (event.key === "Escape") close();
    });

    showIdentity();
    if (saved.open) open();
    else if (saved.token) start(); // a returning visitor: be live for replies at once
  }
})(__CONVODESK_WIDGET_CONFIG__);
