// Account panel: the balance, opening an account and deposits, on Payments' API: this origin in
// mono, PAYMENTS_PUBLIC_URL in split (payments then allows this origin with CORS_ORIGINS). It
// follows the events of status-page.js: gozon:user (a user was chosen), gozon:live (the socket is
// (re)open) and gozon:order (an order changed; a settled status re-reads the balance). It is loaded
// before status-page.js, which announces the user from the URL as it starts.
(() => {
  const $ = (id) => document.getElementById(id);
  const money = new Intl.NumberFormat(undefined, { minimumFractionDigits: 2, maximumFractionDigits: 2 });
  // settledStatuses in modules/orders/domain/order-status.ts (a test keeps them equal). Money moves
  // only as an order reaches one of them (the debit: PaymentCompleted; the refund: Refunded).
  const settled = ["PaymentCompleted", "PaymentFailed", "Cancelled", "Refunded"];
  const token = () => localStorage.getItem("gozon.token") || "";
  let userId, depositKey, latest = 0;
  /** "" (this origin), a URL, or null when this server does not know where payments is. */
  let payments = null;
  const located = fetch("/api/services")
    .then((response) => (response.ok ? response.json() : {}))
    .catch(() => ({}))
    .then((services) => (payments = typeof services.payments === "string" ? services.payments : null));

  function tell(text, isError = false) {
    $("account-message").textContent = text;
    $("account-message").className = isError ? "error" : "";
  }

  /** One of: "unknown" (nothing yet), "open" (with a balance), "missing" (no account), "elsewhere". */
  function show(state, balance) {
    $("account").hidden = false;
    $("balance-line").hidden = state !== "open";
    $("deposit-form").hidden = state !== "open";
    $("account-missing").hidden = state !== "missing";
    $("account-elsewhere").hidden = state !== "elsewhere";
    if (state === "open") $("balance").textContent = money.format(balance);
  }

  // A fresh Idempotency-Key; crypto.randomUUID exists only on https and localhost (not on a LAN address).
  function newKey() {
    if (crypto.randomUUID) return crypto.randomUUID();
    const bytes = crypto.getRandomValues(new Uint8Array(16));
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    const hex = [...bytes].map((byte) => byte.toString(16).padStart(2, "0")).join("");
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
  }

  function call(method, path, body, key) {
    const headers = {};
    if (token()) headers.authorization = `Bearer ${token()}`;
    if (body) headers["content-type"] = "application/json";
    if (key) headers["idempotency-key"] = key;
    return fetch(`${payments}${path}`, { method, headers, body: body && JSON.stringify(body) });
  }


  function unreachable(error) {
    const where = payments || location.origin;
    const hint = payments ? ` (does payments list ${location.origin} in CORS_ORIGINS?)` : "";
    tell(`Could not reach payments at ${where}: ${error.message}${hint}`, true);
  }

  /** Reads the balance; only the latest read (or deposit) may change what the panel shows. */
  async function readBalance() {
    if (!userId || payments === null) return;
    const mine = ++latest;
    try {
      const response = await call("GET", `/api/accounts/${encodeURIComponent(userId)}`);
      if (mine !== latest) return;
      if (response.status === 404) return show("missing");
      if (!response.ok) return tell(await problemText(response), true);
      show("open", (await response.json()).balance);
    } catch (error) {
      if (mine === latest) unreachable(error);
    }
  }

  document.addEventListener("gozon:user", async (event) => {
    userId = event.detail.userId;
    depositKey = undefined;
    latest++;
    tell("");
    show("unknown");
    await located;
    if (payments === null) return show("elsewhere");
    await readBalance();
  });
  document.addEventListener("gozon:live", () => void readBalance());
  document.addEventListener("gozon:order", (event) => {
    if (settled.includes(event.detail.order.status)) void readBalance();
  });

  $("open-account").addEventListener("click", async () => {
    $("open-account").disabled = true;
    try {
      const response = await call("POST", "/api/accounts", { userId });
      if (response.status === 201) {
        latest++;
        show("open", (await response.json()).balance);
        tell("Account opened.");
        $("deposit-amount").focus();
      } else if (response.status === 409) {
        await readBalance();
      } else {
        tell(await problemText(response), true);
      }
    } catch (error) {
      unreachable(error);
    } finally {
      $("open-account").disabled = false;
    }
  });

  // A retried deposit of the same amount keeps its Idempotency-Key, so it cannot count twice.
  $("deposit-amount").addEventListener("input", () => (depositKey = undefined));
  $("deposit-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const amount = Number($("deposit-amount").value);
    depositKey ??= newKey();
    $("deposit").disabled = true;
    try {
      const response = await call("POST", `/api/accounts/${encodeURIComponent(userId)}/deposit`, { amount }, depositKey);
      if (!response.ok) return tell(await problemText(response), true);
      latest++;
      show("open", (await response.json()).balance);
      depositKey = undefined;
      $("deposit-amount").value = "";
      tell(`Deposited ${money.format(amount)}.`);
      void readBalance(); // a payment may have committed after the deposit and before its answer arrived
    } catch (error) {
      unreachable(error);
    } finally {
      $("deposit").disabled = false;
    }
  });
})();
