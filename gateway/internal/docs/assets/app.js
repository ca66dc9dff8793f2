// Evently's offline API viewer: reads /openapi.json, lists every operation by service and
// sends requests with the bearer token from the header. No third-party code, no network
// access beyond this origin.
(function () {
  "use strict";
  const $ = (sel) => document.querySelector(sel);
  const el = (tag, attrs, ...kids) => {
    const n = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === "class") n.className = v; else if (k.startsWith("on")) n.addEventListener(k.slice(2), v); else n.setAttribute(k, v);
    }
    for (const k of kids) if (k != null) n.append(k.nodeType ? k : String(k));
    return n;
  };
  const METHODS = ["get", "post", "put", "patch", "delete", "head", "options"];
  let spec = null;

  const tokenInput = $("#token");
  tokenInput.value = localStorage.getItem("evently.token") || "";
  tokenInput.addEventListener("change", () => localStorage.setItem("evently.token", tokenInput.value.trim()));

  $("#login").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const res = await fetch("/api/v1/auth/login", { method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ email: $("#login-email").value, password: $("#login-password").value }) });
    const body = await res.json().catch(() => ({}));
    if (res.ok && body.access_token) {
      tokenInput.value = body.access_token;
      localStorage.setItem("evently.token", body.access_token);
      $("#login-password").value = "";
    } else {
      alert("Login failed: " + (body.detail || res.status));
    }
  });

  function resolve(obj, depth) {
    if (!obj || depth > 12) return obj;
    if (obj.$ref && obj.$ref.startsWith("#/")) {
      let cur = spec;
      for (const part of obj.$ref.slice(2).split("/")) cur = cur && cur[part.replace(/~1/g, "/").replace(/~0/g, "~")];
      return resolve(cur, depth + 1);
    }
    return obj;
  }

  // example builds a sample value from a schema, preferring the document's own examples.
  function example(schema, depth) {
    schema = resolve(schema, 0);
    if (!schema || depth > 6) return null;
    if (schema.example !== undefined) return schema.example;
    if (Array.isArray(schema.examples) && schema.examples.length) return schema.examples[0];
    if (schema.default !== undefined) return schema.default;
    if (schema.enum) return schema.enum[0];
    for (const k of ["allOf", "oneOf", "anyOf"]) if (schema[k]) return example(schema[k][0], depth + 1);
    let type = schema.type;
    if (Array.isArray(type)) type = type.find((t) => t !== "null") || type[0];
    switch (type) {
      case "object": case undefined: {
        if (!schema.properties) return type ? {} : null;
        const out = {};
        for (const [k, v] of Object.entries(schema.properties)) {
          const r = resolve(v, 0);
          if (r && r.readOnly) continue;
          out[k] = example(v, depth + 1);
        }
        return out;
      }
      case "array": return [example(schema.items, depth + 1)].filter((x) => x !== null);
      case "integer": case "number": return schema.minimum !== undefined ? schema.minimum : 0;
      case "boolean": return false;
      case "string":
        if (schema.format === "uuid") return "00000000-0000-0000-0000-000000000000";
        if (schema.format === "date-time") return new Date().toISOString();
        if (schema.format === "email") return "user@example.com";
        return "";
    }
    return null;
  }

  function renderOp(path, method, op, pathItem) {
    const params = [...(pathItem.parameters || []), ...(op.parameters || [])].map((p) => resolve(p, 0));
    const needsAuth = (op.security || spec.security || []).length > 0;
    const inputs = {};
    const rows = params.filter((p) => p.in === "path" || p.in === "query" || p.in === "header").map((p) => {
      const input = el("input", { placeholder: (p.schema && resolve(p.schema, 0).type) || "" });
      const ex = p.example !== undefined ? p.example : p.schema && resolve(p.schema, 0).default;
      if (ex !== undefined && p.in !== "query") input.value = ex;
      inputs[p.in + ":" + p.name] = input;
      return el("tr", {}, el("td", {}, el("code", {}, p.name), p.required ? " *" : ""), el("td", { class: "muted" }, p.in),
        el("td", {}, input), el("td", { class: "muted" }, p.description || ""));
    });
    let bodyArea = null;
    const content = op.requestBody && resolve(op.requestBody, 0).content;
    if (content) {
      const media = content["application/json"] || Object.values(content)[0];
      bodyArea = el("textarea", { spellcheck: "false" });
      bodyArea.value = JSON.stringify(media && media.example !== undefined ? media.example : example(media && media.schema, 0), null, 2);
    }
    const out = el("div");
    const send = async () => {
      let url = path;
      const qs = new URLSearchParams();
      const headers = {};
      for (const p of params) {
        const v = inputs[p.in + ":" + p.name] && inputs[p.in + ":" + p.name].value;
        if (!v) continue;
        if (p.in === "path") url = url.replace("{" + p.name + "}", encodeURIComponent(v));
        else if (p.in === "query") qs.append(p.name, v);
        else headers[p.name] = v;
      }
      if ([...qs].length) url += "?" + qs;
      const token = tokenInput.value.trim();
      if (token) headers["Authorization"] = "Bearer " + token;
      const init = { method: method.toUpperCase(), headers };
      if (bodyArea && method !== "get" && method !== "head") {
        headers["Content-Type"] = "application/json";
        init.body = bodyArea.value;
      }
      out.replaceChildren(el("p", { class: "muted" }, "Sending " + init.method + " " + url + " …"));
      const t0 = performance.now();
      try {
        const res = await fetch(url, init);
        const text = await res.text();
        let pretty = text;
        try { pretty = JSON.stringify(JSON.parse(text), null, 2); } catch (_) { /* not JSON */ }
        const hdrs = [...res.headers].map(([k, v]) => k + ": " + v).join("\n");
        out.replaceChildren(
          el("p", {}, el("span", { class: "resp-status " + (res.ok ? "ok" : "err") }, res.status + " " + res.statusText),
            el("span", { class: "muted" }, "  " + Math.round(performance.now() - t0) + " ms · " + init.method + " " + url)),
          el("pre", {}, hdrs), el("pre", {}, pretty || "(empty body)"));
        if (res.ok && /\/auth\/(login|register|refresh)$/.test(path)) {
          try { const b = JSON.parse(text); if (b.access_token) { tokenInput.value = b.access_token; localStorage.setItem("evently.token", b.access_token); } } catch (_) { /* ignore */ }
        }
      } catch (e) {
        out.replaceChildren(el("p", { class: "err" }, "Request failed: " + e));
      }
    };
    const responses = Object.entries(op.responses || {}).map(([code, r]) => {
      r = resolve(r, 0);
      return el("tr", {}, el("td", {}, el("code", {}, code)), el("td", { class: "muted" }, (r && r.description) || ""));
    });
    const id = "op-" + method + "-" + path.replace(/[^a-zA-Z0-9]+/g, "-");
    return el("details", { class: "op", id },
      el("summary", {}, el("span", { class: "method " + method }, method.toUpperCase()), el("span", { class: "path" }, path),
        el("span", { class: "summary" }, op.summary || ""), needsAuth ? el("span", { class: "lock" }, "🔒 token") : null),
      el("div", { class: "body" },
        op.description ? el("p", {}, op.description) : null,
        rows.length ? el("table", {}, ...rows) : null,
        bodyArea ? el("div", {}, el("p", { class: "muted" }, "Request body (application/json)"), bodyArea) : null,
        el("p", {}, el("button", { type: "button", onclick: send }, "Send")),
        out,
        responses.length ? el("details", {}, el("summary", { class: "muted" }, "Documented responses"), el("table", {}, ...responses)) : null));
  }

  function render(filter) {
    const f = (filter || "").toLowerCase();
    const byTag = new Map((spec.tags || []).map((t) => [t.name, { tag: t, ops: [] }]));
    for (const [path, item] of Object.entries(spec.paths || {}).sort(([a], [b]) => a.localeCompare(b))) {
      for (const m of METHODS) {
        const op = item[m];
        if (!op) continue;
        const text = (m + " " + path + " " + (op.summary || "") + " " + (op.operationId || "")).toLowerCase();
        if (f && !text.includes(f)) continue;
        const tag = (op.tags && op.tags[0]) || "other";
        if (!byTag.has(tag)) byTag.set(tag, { tag: { name: tag }, ops: [] });
        byTag.get(tag).ops.push([path, m, op, item]);
      }
    }
    const ops = $("#ops"), toc = $("#toc");
    ops.replaceChildren();
    toc.replaceChildren();
    for (const { tag, ops: list } of byTag.values()) {
      if (!list.length) continue;
      toc.append(el("h3", {}, tag.name));
      const section = el("div", { class: "tag" }, el("h2", {}, tag.name), tag.description ? el("p", {}, tag.description) : null);
      for (const [path, m, op, item] of list) {
        const node = renderOp(path, m, op, item);
        section.append(node);
        toc.append(el("a", { href: "#" + node.id, onclick: () => { node.open = true; } }, m.toUpperCase() + " " + path));
      }
      ops.append(section);
    }
    if (!ops.children.length) ops.append(el("p", { class: "muted" }, "No operation matches."));
  }

  fetch("/openapi.json").then((r) => r.json()).then((doc) => {
    spec = doc;
    $("#version").textContent = (doc.info && doc.info.version) ? "v" + doc.info.version : "";
    render("");
    $("#filter").addEventListener("input", (e) => render(e.target.value));
  }).catch((e) => { $("#status").textContent = "Could not load /openapi.json: " + e; });
})();
