// The status page's main script: who the user is, their orders (listed, then kept live over the
// WebSocket), placing and cancelling orders. Served as a file, not inline, so the page's
// Content-Security-Policy allows scripts from this origin only.
(() => {
  const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
  const $ = (id) => document.getElementById(id);
  const orders = new Map();
  let socket, userId, retry = 0, authOn = false;

  // How far along an order is (statusRank in modules/orders/domain/order-status.ts; a test keeps them equal).
  const rank = { Created: 0, PaymentPending: 1, PaymentCompleted: 2, PaymentFailed: 2, CancelRequested: 2, RefundPending: 3, Cancelled: 4, Refunded: 4 };
  const money = new Intl.NumberFormat(undefined, { minimumFractionDigits: 2, maximumFractionDigits: 2 });
  const token = () => localStorage.getItem("gozon.token") || "";
  const headers = () => (token() ? { authorization: `Bearer ${token()}` } : {});

  function say(text, isError = false) {
    $("message").textContent = text;
    $("message").className = isError ? "error" : "";
  }

  function upsert(order, flash) {
    const known = orders.get(order.id);
    // Keep the furthest status: a late list response never moves a row back.
    if (known && rank[known.status] > rank[order.status]) return;
    orders.set(order.id, order);
    render(flash ? order.id : undefined);
  }

  function render(flashId) {
    const rows = [...orders.values()].sort((a, b) => b.createdAt.localeCompare(a.createdAt));
    $("empty").hidden = rows.length > 0;
    $("orders").replaceChildren(...rows.map((order) => {
      const tr = document.createElement("tr");
      tr.dataset.orderId = order.id;
      if (order.id === flashId) tr.className = "flash";
      const what = document.createElement("td");
      what.append(order.description, document.createElement("br"));
      const id = document.createElement("span");
      id.className = "id";
      id.textContent = order.id;
      what.append(id);
      const amount = document.createElement("td");
      amount.className = "amount";
      amount.textContent = money.format(order.amount);
      const status = document.createElement("td");
      const badge = document.createElement("span");
      badge.className = `status ${order.status}`;
      badge.dataset.status = order.status;
      badge.textContent = order.status;
      status.append(badge);
      if (order.failureReason) {
        const reason = document.createElement("span");
        reason.className = "reason";
        reason.textContent = order.failureReason.replaceAll("_", " ");
        status.append(reason);
      }
      const when = document.createElement("td");
      when.className = "when";
      when.textContent = new Date(order.updatedAt).toLocaleTimeString();
      tr.append(what, amount, status, when, cancelCell(order));
      return tr;
    }));
  }

  // ---- Cancelling: a Cancel button on each order that can still be cancelled. ----
  // cancellableStatuses in modules/orders/domain/order-status.ts (a test keeps them equal).
  const cancellable = ["Created", "PaymentPending", "PaymentCompleted"];
  /** Orders whose cancel request is on its way: their button stays disabled across re-renders. */
  const cancelling = new Set();

  function cancelCell(order) {
    const cell = document.createElement("td");
    cell.className = "actions";
    if (!cancellable.includes(order.status)) return cell;
    const button = document.createElement("button");
    button.type = "button";
    button.className = "cancel";
    button.textContent = "Cancel";
    button.setAttribute("aria-label", `Cancel order ${order.description}`);
    button.disabled = cancelling.has(order.id);
    button.addEventListener("click", () => cancelOrder(order));
    cell.append(button);
    return cell;
  }

  async function cancelOrder(order) {
    cancelling.add(order.id);
    render();
    try {
      const response = await fetch(`/api/orders/${encodeURIComponent(order.id)}/cancel`, {
        method: "POST",
        headers: { "idempotency-key": crypto.randomUUID(), ...headers() },
      });
      if (!response.ok) return say(await problemText(response), true);
      const cancelled = await response.json();
      say(cancelled.status === "RefundPending" ? `Refund requested: ${cancelled.id}` : `Cancellation requested: ${cancelled.id}`);
      cancelling.delete(order.id);
      upsert(cancelled, true);
    } catch (error) {
      say(`Could not reach the server: ${error.message}`, true);
    } finally {
      if (cancelling.delete(order.id)) render();
    }
  }

  function connect() {
    if (socket) { socket.onclose = null; socket.close(); }
    const url = new URL("/ws", location.href);
    url.protocol = location.protocol === "https:" ? "wss:" : "ws:";
    url.searchParams.set("userId", userId);
    // The token travels in Sec-WebSocket-Protocol ("bearer, <JWT>"), not in the URL (and so not in logs).
    try {
      socket = new WebSocket(url, token() ? ["bearer", token()] : []);
    } catch {
      socket = undefined;
      return say("The access token is not a JWT (letters, digits, -, _ and . only): paste it again.", true);
    }
    let opened = false;
    socket.onopen = () => {
      opened = true;
      retry = 0;
      $("connection").className = "live";
      $("connection").textContent = "live";
      load(); // after the socket is open, so no change falls between the list and the stream
      document.dispatchEvent(new CustomEvent("gozon:live"));
    };
    socket.onmessage = (event) => {
      const message = JSON.parse(event.data);
      if (message.type === "order.updated") {
        upsert(message.order, true);
        document.dispatchEvent(new CustomEvent("gozon:order", { detail: { order: message.order } }));
      }
    };
    socket.onclose = (event) => {
      // Closed by the server saying why (the token expired, too many tabs, a busy server): say it too.
      if (event.reason) say(`Live updates stopped: ${event.reason}`, true);
      // Refused before the upgrade (a missing, expired or foreign token): the list request says why.
      if (!opened && authOn) load().catch(() => {});
      $("connection").className = "down";
      $("connection").textContent = "reconnecting…";
      setTimeout(connect, Math.min(10000, 500 * 2 ** retry++));
    };
  }

  async function load() {
    const response = await fetch(`/api/orders?userId=${encodeURIComponent(userId)}&limit=100`, { headers: headers() });
    if (!response.ok) return say(await problemText(response), true);
    const page = await response.json();
    for (const order of page.items) upsert(order, false);
  }


  function choose(id) {
    userId = id.trim().toLowerCase();
    localStorage.setItem("gozon.userId", userId);
    const url = new URL(location.href);
    url.searchParams.set("userId", userId);
    history.replaceState(null, "", url);
    orders.clear();
    render();
    $("place").disabled = false;
    say("");
    document.dispatchEvent(new CustomEvent("gozon:user", { detail: { userId } }));
    connect();
  }

  $("user-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const id = $("user-id").value.trim();
    if (!uuid.test(id)) return say("A user id is a UUID, like be578685-7963-4876-8809-58b38342468f.", true);
    if (!$("token-label").hidden) localStorage.setItem("gozon.token", $("token").value.trim());
    choose(id);
  });

  $("order-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    $("place").disabled = true;
    try {
      const response = await fetch("/api/orders", {
        method: "POST",
        headers: { "content-type": "application/json", "idempotency-key": crypto.randomUUID(), ...headers() },
        body: JSON.stringify({ userId, amount: Number($("amount").value), description: $("description").value }),
      });
      if (!response.ok) return say(await problemText(response), true);
      const order = await response.json();
      upsert(order, true);
      say(`Order placed: ${order.id}`);
      $("description").value = "";
    } catch (error) {
      say(`Could not reach the server: ${error.message}`, true);
    } finally {
      $("place").disabled = false;
    }
  });

  fetch("/api/auth").then((r) => (r.ok ? r.json() : { auth: "none" })).catch(() => ({ auth: "none" })).then((info) => {
    if (info.auth === "jwt") {
      authOn = true;
      $("token-label").hidden = false;
      $("token").value = token();
    }
  });

  const initial = new URLSearchParams(location.search).get("userId") || localStorage.getItem("gozon.userId");
  if (initial && uuid.test(initial)) {
    $("user-id").value = initial;
    choose(initial);
  }
})();
