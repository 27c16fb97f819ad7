/* Passkeys: the browser's side of the WebAuthn ceremonies. An element with data-passkey
   ("register" or "sign-in") names its two JSON endpoints (data-options, data-finish) and the
   page's CSRF token (data-csrf, sent as X-CSRF-Token). The server's options come as
   PublicKeyCredential*OptionsJSON (base64url strings); the answer goes back as the matching
   *ResponseJSON. Without WebAuthn the element says so instead. */
(function () {
  "use strict";

  function toBytes(base64url) {
    var base64 = base64url.replace(/-/g, "+").replace(/_/g, "/");
    while (base64.length % 4) { base64 += "="; }
    var binary = atob(base64);
    var bytes = new Uint8Array(binary.length);
    for (var i = 0; i < binary.length; i++) { bytes[i] = binary.charCodeAt(i); }
    return bytes.buffer;
  }

  function toBase64url(buffer) {
    var bytes = new Uint8Array(buffer);
    var binary = "";
    for (var i = 0; i < bytes.length; i++) { binary += String.fromCharCode(bytes[i]); }
    return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function descriptors(list) {
    return (list || []).map(function (d) {
      return { type: d.type, id: toBytes(d.id), transports: d.transports };
    });
  }

  function creationOptions(json) {
    var o = Object.assign({}, json);
    o.challenge = toBytes(json.challenge);
    o.user = Object.assign({}, json.user, { id: toBytes(json.user.id) });
    o.excludeCredentials = descriptors(json.excludeCredentials);
    return o;
  }

  function requestOptions(json) {
    var o = Object.assign({}, json);
    o.challenge = toBytes(json.challenge);
    o.allowCredentials = descriptors(json.allowCredentials);
    return o;
  }

  function registrationJSON(cred) {
    var r = cred.response;
    var response = {
      clientDataJSON: toBase64url(r.clientDataJSON),
      attestationObject: toBase64url(r.attestationObject),
      transports: r.getTransports ? r.getTransports() : []
    };
    return {
      id: cred.id,
      rawId: toBase64url(cred.rawId),
      type: cred.type,
      response: response,
      authenticatorAttachment: cred.authenticatorAttachment || null,
      clientExtensionResults: cred.getClientExtensionResults()
    };
  }

  function assertionJSON(cred) {
    var r = cred.response;
    return {
      id: cred.id,
      rawId: toBase64url(cred.rawId),
      type: cred.type,
      response: {
        clientDataJSON: toBase64url(r.clientDataJSON),
        authenticatorData: toBase64url(r.authenticatorData),
        signature: toBase64url(r.signature),
        userHandle: r.userHandle ? toBase64url(r.userHandle) : null
      },
      authenticatorAttachment: cred.authenticatorAttachment || null,
      clientExtensionResults: cred.getClientExtensionResults()
    };
  }

  function post(box, url, body) {
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": box.dataset.csrf },
      body: JSON.stringify(body || {})
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (json) {
        if (!response.ok) {
          var error = new Error(json.error || String(response.status));
          error.redirect = json.redirect;
          throw error;
        }
        return json;
      });
    });
  }

  function say(box, text) {
    var out = box.querySelector("#passkey-error");
    if (!out) { return; }
    out.textContent = text;
    out.hidden = !text;
    if (text) { out.setAttribute("role", "alert"); } else { out.removeAttribute("role"); }
  }

  function run(box) {
    var register = box.dataset.passkey === "register";
    var nameInput = box.querySelector("input[name=name]");
    say(box, "");
    box.setAttribute("aria-busy", "true");
    return post(box, box.dataset.options).then(function (answer) {
      return register
        ? navigator.credentials.create({ publicKey: creationOptions(answer.options) })
        : navigator.credentials.get({ publicKey: requestOptions(answer.options) });
    }).then(function (cred) {
      var body = { credential: register ? registrationJSON(cred) : assertionJSON(cred) };
      if (nameInput) { body.name = nameInput.value; }
      if (box.dataset.next) { body.next = box.dataset.next; }
      return post(box, box.dataset.finish, body);
    }).then(function (answer) {
      window.location.assign(answer.redirect || "/");
    }).catch(function (error) {
      box.removeAttribute("aria-busy");
      if (error && error.redirect) { window.location.assign(error.redirect); return; }
      // The person closed the browser's dialog (or it timed out): said gently.
      var cancelled = error && (error.name === "NotAllowedError" || error.name === "AbortError");
      say(box, cancelled ? box.dataset.cancelled : (error && error.message) || String(error));
    });
  }

  document.querySelectorAll("[data-passkey]").forEach(function (box) {
    if (!window.PublicKeyCredential || !navigator.credentials) {
      say(box, box.dataset.unsupported);
      box.hidden = false;
      box.querySelectorAll("button").forEach(function (b) { b.disabled = true; });
      return;
    }
    box.hidden = false;
    if (box.tagName === "FORM") {
      box.addEventListener("submit", function (event) { event.preventDefault(); run(box); });
    } else {
      var start = box.querySelector("[data-passkey-start]");
      if (start) { start.addEventListener("click", function () { run(box); }); }
    }
  });
})();
