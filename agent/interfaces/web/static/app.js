// csm serve: the chat panel (streamed answers, text only) and filters that apply on change.
"use strict";

function addMessage(log, role, text) {
  const item = document.createElement("li");
  item.className = "msg " + role;
  item.textContent = text;  // text, never markup: answers may quote account data
  log.appendChild(item);
  log.scrollTop = log.scrollHeight;
  return item;
}

async function sendChat(panel, form) {
  const input = form.querySelector("textarea");
  const button = form.querySelector("button");
  const log = panel.querySelector("#chat-log");
  const text = input.value.trim();
  if (!text) return;
  addMessage(log, "user", text);
  input.value = "";
  button.disabled = true;
  const answer = addMessage(log, "assistant", "");
  answer.setAttribute("aria-busy", "true");
  const body = {message: text};
  if (panel.dataset.hasAccount === "yes") body.account = panel.dataset.account;
  try {
    const response = await fetch("/api/chat", {
      method: "POST",
      headers: {"content-type": "application/json", "x-csrf-token": panel.dataset.csrf},
      body: JSON.stringify(body),
    });
    if (!response.ok || !response.body) {
      let sentence = "the server answered " + response.status;
      try { sentence = (await response.json()).error || sentence; } catch (e) { /* not JSON */ }
      answer.className = "msg error";
      answer.textContent = sentence;
      return;
    }
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    let buffered = "";
    for (;;) {
      const {value, done} = await reader.read();
      if (done) break;
      buffered += decoder.decode(value, {stream: true});
      let cut;
      while ((cut = buffered.indexOf("\n")) >= 0) {
        const line = buffered.slice(0, cut);
        buffered = buffered.slice(cut + 1);
        if (!line) continue;
        const event = JSON.parse(line);
        if (event.type === "token") {
          answer.textContent += event.text;
        } else if (event.type === "tool") {
          log.insertBefore(Object.assign(document.createElement("li"),
            {className: "msg tool", textContent: "[tool " + event.name + "]"}), answer);
        } else if (event.type === "error") {
          addMessage(log, "error", event.text);
        }
        log.scrollTop = log.scrollHeight;
      }
    }
  } catch (error) {
    addMessage(log, "error", "the answer was cut off (" + error + "); try again.");
  } finally {
    answer.removeAttribute("aria-busy");
    if (!answer.textContent && answer.className === "msg assistant") answer.remove();
    button.disabled = false;
    input.focus({preventScroll: true});
  }
}

document.addEventListener("DOMContentLoaded", () => {
  const panel = document.getElementById("chat");
  const form = document.getElementById("chat-form");
  if (panel && form) {
    form.addEventListener("submit", (event) => { event.preventDefault(); sendChat(panel, form); });
    form.querySelector("textarea").addEventListener("keydown", (event) => {
      if (event.key === "Enter" && !event.shiftKey) { event.preventDefault(); sendChat(panel, form); }
    });
  }
  const filters = document.getElementById("filters");
  if (filters) {
    filters.querySelectorAll("select").forEach((select) => {
      select.addEventListener("change", () => filters.requestSubmit());
    });
  }
});
