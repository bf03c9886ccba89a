() => {
  // Runs once when the page loads (launch(js=...)). Two things the Edit tab needs from the browser.

  // 1. The image editor uploads its background and composite (the whole picture, as PNG) every
  //    time an event reads it. The app never uses them: the photo itself is kept on the server,
  //    and the mask comes from the paint layer. So those two exports leave as a 1-pixel PNG.
  //    They are recognised by the names the editor gives them and by having no type (a file
  //    a person picks always has one). If the editor ever names them otherwise, nothing breaks:
  //    they are simply uploaded whole again.
  const PIXEL = Uint8Array.from(atob(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="),
    (c) => c.charCodeAt(0));
  const EXPORTS = ["background.png", "composite.png"];
  const isEditorExport = (f) => f instanceof File && f.type === "" && EXPORTS.includes(f.name);
  const send = window.fetch.bind(window);
  window.fetch = (input, init) => {
    try {
      const body = init && init.body;
      const url = String((input && input.url) || input);
      if (body instanceof FormData && url.includes("/upload")) {
        const files = body.getAll("files");
        if (files.length && files.every(isEditorExport)) {
          const light = new FormData();
          for (const f of files) light.append("files", new File([PIXEL], f.name, { type: "image/png" }));
          init = { ...init, body: light };
        }
      }
    } catch (e) { /* never let this shim break an upload */ }
    return send(input, init);
  };

  // 2. Each click on Run gets a ticket, made here, synchronously, before any of the click's events
  //    start (they may wait a second for the editor's export). Cancel sends the last ticket, so a
  //    Cancel that lands before the run exists still reaches it: the server refuses that ticket.
  const newTicket = () => (self.crypto && crypto.randomUUID) ? crypto.randomUUID()
    : String(Math.random()).slice(2) + String(Date.now());
  window.__gptTicketsByClick = true;
  document.addEventListener("click", (e) => {
    if (e.target && e.target.closest && e.target.closest("#run")) window.__gptRunTicket = newTicket();
  }, true);

  // 3. Nothing listens to the editor's own change events (they re-upload everything per stroke);
  //    when a stroke (or undo, or clear) ends, ask for a fresh mask preview instead.
  let inEditor = false;
  document.addEventListener("pointerdown", (e) => {
    inEditor = !!(e.target && e.target.closest && e.target.closest("#editor"));
  }, true);
  document.addEventListener("pointerup", () => {
    if (!inEditor) return;
    inEditor = false;
    setTimeout(() => { const b = document.querySelector("#mask-refresh"); if (b) b.click(); }, 0);
  }, true);
}
