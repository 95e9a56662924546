// loaxa console: the operator's pages over /api/v1 (docs/api.md). Plain JavaScript, no
// build step and nothing from the Internet: the daemon serves this file from its binary.
// Everything a person reads is Vietnamese; the API's English messages are shown only as
// technical detail under a Vietnamese sentence.
"use strict";

const $ = (sel, root = document) => root.querySelector(sel);
const el = (tag, attrs = {}, ...kids) => {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else if (k === "class") e.className = v;
    else if (v === true) e.setAttribute(k, "");
    else e.setAttribute(k, v);
  }
  for (const k of kids.flat()) {
    if (k === null || k === undefined || k === false) continue;
    e.append(k instanceof Node ? k : document.createTextNode(String(k)));
  }
  return e;
};
// Replaces a node's children with `kids` (arrays flattened, empty ones left out).
const fill = (node, ...kids) => {
  node.replaceChildren();
  return append(node, kids);
};
const append = (node, kids) => {
  for (const k of kids.flat(Infinity)) {
    if (k === null || k === undefined || k === false) continue;
    node.append(k instanceof Node ? k : document.createTextNode(String(k)));
  }
  return node;
};

// ---- Words ---------------------------------------------------------------------------

const STATE = {
  ready: "Sẵn sàng", settling: "Đang nhận tệp", pending: "Chờ duyệt",
  not_yet_valid: "Chưa đến ngày phát", expired: "Hết hạn", rejected: "Bị từ chối",
};
// Why the library refuses a file (its `reason_code`); the English reason stays as detail.
const REJECT = {
  empty: "Tệp rỗng (0 byte); hãy chép lại.",
  not_audio: "Không phải tệp âm thanh đài đọc được; hãy chuyển sang mp3.",
  unreadable: "Không đọc được tệp.",
  corrupt: "Tệp bị hỏng giữa chừng; hãy xuất hoặc chép lại.",
  truncated: "Tệp bị cụt (chép chưa hết); hãy chép lại.",
  decoder_crash: "Tệp hỏng, không giải mã được; hãy xuất lại.",
  unsupported_codec: "Định dạng âm thanh này chưa phát được; hãy chuyển sang mp3.",
  silent: "Tệp im lặng, không có tiếng.",
  too_short: "Bài quá ngắn (dưới 1 giây).",
  too_long: "Bài dài hơn mức chuyên mục cho phép.",
  bad_sidecar: "Tệp đi kèm (.yaml) có lỗi.",
  not_a_file: "Không phải tệp âm thanh thường.",
  broken_link: "Lối tắt (symlink) hỏng.",
  link_outside: "Lối tắt trỏ ra ngoài thư mục âm thanh.",
  same_name: "Trùng tên với một tệp khác (khác cách gõ dấu).",
  unreadable_folder: "Thư mục này không đọc được.",
};
const PRIORITY = { normal: "Thường", priority: "Ưu tiên", emergency: "Khẩn cấp" };
const AIRING = {
  playing: "Đang phát", completed: "Đã phát xong", interrupted: "Bị ngắt", failed: "Lỗi",
  skipped: "Bỏ qua", missed: "Lỡ giờ",
};
const TRIGGER = { schedule: "Theo lịch", manual: "Phát tay", emergency: "Khẩn cấp", catch_up: "Phát bù" };
const ACTION = {
  login: "Đăng nhập", logout: "Đăng xuất", play: "Phát", skip: "Bỏ qua bài", stop: "Dừng chương trình",
  reload: "Nạp lại lịch", take: "Nhận tệp", upload: "Đưa bài lên", approve: "Duyệt bài", remove: "Xóa bài",
  "schedule.save": "Lưu lịch", bulletin: "Nhận bản tin", live: "Phát trực tiếp",
  "user.add": "Thêm tài khoản", "user.remove": "Xóa tài khoản", "user.passwd": "Đổi mật khẩu",
  "token.add": "Thêm khóa API", "token.remove": "Xóa khóa API",
};
const OUTCOME = {
  ok: "Thành công", forbidden: "Không có quyền", wrong_password: "Sai mật khẩu", rate_limited: "Bị chặn tạm thời",
  csrf: "Phiên không hợp lệ", config_invalid: "Lịch có lỗi", no_such_item: "Không có bài", failed: "Lỗi",
};
const ROLE = { viewer: "Xem", operator: "Trực đài", approver: "Duyệt tin", admin: "Quản trị" };
const ROLES = ["viewer", "operator", "approver", "admin"];
const ERROR = {
  unauthorized: "Chưa đăng nhập, hoặc phiên làm việc đã hết hạn. Hãy đăng nhập lại.",
  forbidden: "Tài khoản của bạn không được làm việc này.",
  csrf: "Phiên làm việc không còn hợp lệ. Hãy tải lại trang.",
  rate_limited: "Đăng nhập sai quá nhiều lần. Hãy đợi rồi thử lại.",
  bad_request: "Yêu cầu chưa đúng.",
  invalid: "Thông tin gửi lên chưa đúng.",
  not_found: "Không tìm thấy.",
  no_such_item: "Không có bài này trong thư viện.",
  no_such_category: "Không có chuyên mục này.",
  nothing_to_play: "Không có bài nào sẵn sàng để phát.",
  nothing_on_air: "Hiện không phát gì.",
  config_invalid: "Tệp lịch phát có lỗi, chưa lưu được.",
  busy: "Đài đang bận, hãy thử lại sau giây lát.",
  stopping: "Chương trình loaxa đang tắt.",
  too_large: "Tệp quá lớn.",
  exists: "Đã có tệp trùng tên trong chuyên mục này.",
  rejected: "Đài không phát được tệp này.",
  not_pending: "Bài này không chờ duyệt.",
  no_emergency: "Chưa có chuyên mục khẩn cấp.",
  internal: "Máy đài gặp lỗi; kỹ thuật viên xem nhật ký để biết nguyên nhân.",
  network: "Không kết nối được với máy đài.",
};

const pad = (n) => String(n).padStart(2, "0");
const fmtDur = (ms) => {
  if (ms === null || ms === undefined) return "—";
  const s = Math.round(ms / 1000), h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60);
  return h ? `${h}:${pad(m)}:${pad(s % 60)}` : `${m}:${pad(s % 60)}`;
};
const DAYS = ["Chủ nhật", "Thứ Hai", "Thứ Ba", "Thứ Tư", "Thứ Năm", "Thứ Sáu", "Thứ Bảy"];
// Times are shown in the station's time zone (from the status), whatever the phone's is.
let TZ = "Asia/Ho_Chi_Minh";
const parts = (iso) => {
  const d = new Date(iso);
  const f = new Intl.DateTimeFormat("en-GB", {
    timeZone: TZ, year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit",
    minute: "2-digit", second: "2-digit", weekday: "short", hourCycle: "h23",
  }).formatToParts(d);
  const p = Object.fromEntries(f.map((x) => [x.type, x.value]));
  const wd = { Sun: 0, Mon: 1, Tue: 2, Wed: 3, Thu: 4, Fri: 5, Sat: 6 }[p.weekday];
  return { ...p, wd };
};
const fmtTime = (iso) => { if (!iso) return "—"; const p = parts(iso); return `${p.hour}:${p.minute}`; };
const fmtDate = (iso) => { const p = parts(iso); return `${p.day}/${p.month}/${p.year}`; };
const fmtDay = (iso) => { const p = parts(iso); return `${DAYS[p.wd]} ${p.day}/${p.month}`; };
const fmtWhen = (iso) => iso ? `${fmtTime(iso)} ${fmtDay(iso)}` : "—";
const today = () => { const p = parts(new Date().toISOString()); return `${p.year}-${p.month}-${p.day}`; };

// ---- The API ---------------------------------------------------------------------------

const session = { user: null, role: null, csrf: null };
const can = (role) => session.role && ROLES.indexOf(session.role) >= ROLES.indexOf(role);

class ApiError extends Error {
  constructor(status, code, message, body) {
    super(message); this.status = status; this.code = code; this.body = body;
  }
  // The Vietnamese sentence for the person, and the API's own words as detail.
  get text() {
    const vi = ERROR[this.code] || "Không làm được.";
    return this.message && this.code !== "network" ? `${vi} (${this.message})` : vi;
  }
}

async function api(method, url, body, type) {
  const headers = {};
  if (method !== "GET" && session.csrf) headers["X-CSRF-Token"] = session.csrf;
  let payload = body;
  if (body !== undefined && !(body instanceof FormData) && typeof body !== "string") {
    headers["Content-Type"] = "application/json";
    payload = JSON.stringify(body);
  } else if (typeof body === "string") {
    headers["Content-Type"] = type || "text/plain; charset=utf-8";
  }
  let r;
  try {
    r = await fetch(url, { method, headers, body: payload, credentials: "same-origin" });
  } catch (e) {
    throw new ApiError(0, "network", String(e));
  }
  const ct = r.headers.get("content-type") || "";
  const data = ct.includes("json") ? await r.json() : await r.text();
  if (!r.ok) {
    const err = (data && data.error) || {};
    if (r.status === 401 && session.user) { session.user = null; showLogin(); }
    throw new ApiError(r.status, err.code || `http_${r.status}`, err.message || "", data);
  }
  return data;
}

function toast(text, bad = false) {
  const t = $("#toast");
  t.textContent = text; t.className = bad ? "bad" : ""; t.hidden = false;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => { t.hidden = true; }, bad ? 9000 : 4000);
}
const fail = (e) => toast(e instanceof ApiError ? e.text : String(e), true);

function confirmBox(title, text, okLabel = "Đồng ý") {
  const d = $("#confirm");
  $("#confirm-title").textContent = title;
  $("#confirm-text").textContent = text;
  $("#confirm-ok").textContent = okLabel;
  return new Promise((res) => {
    d.addEventListener("close", () => res(d.returnValue === "ok"), { once: true });
    d.returnValue = "";
    d.showModal();
  });
}

// ---- Live status (server-sent events) -----------------------------------------------

let status = null;
let statusAt = 0;
let events = null;
const listeners = new Set();

function startEvents() {
  if (events) events.close();
  events = new EventSource("/api/v1/events");
  events.addEventListener("status", (e) => {
    status = JSON.parse(e.data);
    statusAt = Date.now();
    TZ = status.timezone || TZ;
    $("#station").textContent = status.station || "Loa xã";
    drawBanner();
    for (const f of listeners) f(status);
  });
  events.onerror = () => {
    // The browser reconnects by itself; a lost session ends the stream for good.
    if (events.readyState === EventSource.CLOSED) setTimeout(() => session.user && startEvents(), 3000);
  };
}

function drawBanner() {
  const b = $("#emergency-banner");
  const on = status && status.emergency_active;
  b.hidden = !on;
  if (on) {
    const t = status.on_air ? status.on_air.title : "";
    b.textContent = `ĐANG PHÁT KHẨN CẤP${t ? ": " + t : ""}`;
  }
}

// ---- Pages ----------------------------------------------------------------------------

const pages = {};
let current = null;

function route() {
  if (!session.user) return;
  const name = (location.hash || "#dang-phat").slice(1);
  const page = pages[name] ? name : "dang-phat";
  for (const a of document.querySelectorAll("#nav a")) {
    a.classList.toggle("active", a.dataset.page === page);
    if (a.dataset.page === page) a.scrollIntoView({ block: "nearest", inline: "nearest" });
  }
  listeners.clear();
  clearInterval(route.tick);
  $("#toast").hidden = true;
  const main = $("#main");
  main.replaceChildren();
  current = page;
  document.title = `${$(`#nav a[data-page="${page}"]`).textContent} — Loa xã`;
  pages[page](main);
}

// Đang phát: what airs now and next, the library, alarms; live.
pages["dang-phat"] = (main) => {
  const onAir = el("div", { class: "card", id: "on-air" });
  const next = el("div", { class: "card", id: "next" });
  const lib = el("div", { class: "card", id: "library-counts" });
  const alarms = el("div", { class: "card", id: "alarms" });
  main.append(el("h1", {}, "Đang phát"), el("div", { class: "grid two" }, onAir, next, lib, alarms));
  const draw = (s) => {
    const a = s.on_air;
    if (a) {
      const pos = a.position_ms + (Date.now() - statusAt);
      const pct = a.duration_ms ? Math.min(100, (100 * pos) / a.duration_ms) : 0;
      fill(onAir, 
        el("h2", {}, "Đang phát"),
        el("div", { class: "big", id: "on-air-title" }, a.title),
        el("div", { class: "muted" }, [a.programme || TRIGGER[a.trigger] || a.trigger, `bài ${a.item}/${a.items}`, PRIORITY[a.priority] || a.priority, a.programme ? TRIGGER[a.trigger] : null].filter(Boolean).join(" · ")),
        el("div", { class: "progress" }, el("div", { style: `width:${pct}%` })),
        el("div", { class: "muted" }, `${fmtDur(Math.min(pos, a.duration_ms || pos))} / ${fmtDur(a.duration_ms)}`),
      );
    } else {
      fill(onAir, el("h2", {}, "Đang phát"), el("div", { class: "big", id: "on-air-title" }, "Không phát gì"),
        el("div", { class: "muted" }, "Loa đang nghỉ."));
    }
    fill(next, el("h2", {}, "Tiếp theo"), s.next
      ? el("div", {}, el("div", { class: "big" }, s.next.programme), el("div", { class: "muted" }, `lúc ${fmtWhen(s.next.at)}`))
      : el("div", { class: "muted" }, "Chưa có chương trình nào sắp tới."),
      s.waiting && s.waiting.length ? el("div", { class: "muted" }, `Đang chờ: ${s.waiting.join(", ")}`) : null);
    const counts = Object.entries(s.library || {});
    fill(lib, el("h2", {}, "Thư viện"), counts.length
      ? el("ul", {}, counts.map(([k, n]) => el("li", {}, el("span", { class: `state ${k}` }, STATE[k] || k), ` ${n} bài`)))
      : el("div", { class: "muted" }, "Thư viện trống."),
      el("a", { href: "#thu-vien" }, "Mở thư viện"));
    const al = [...(s.alarms || [])];
    if (s.last_error) al.push(s.last_error);
    const outs = (s.outputs || []).filter((o) => !o.ok);
    fill(alarms, el("h2", {}, "Cảnh báo"),
      al.length || outs.length
        ? el("ul", {}, al.map((x) => el("li", { class: "alarm" }, x)),
          outs.map((o) => el("li", { class: "alarm" }, `Đầu ra ${o.name} đang lỗi${o.last_error ? ": " + o.last_error : ""}`)))
        : el("div", { class: "muted" }, "Không có cảnh báo. Mọi đầu ra hoạt động bình thường."));
  };
  listeners.add(draw);
  if (status) draw(status);
  route.tick = setInterval(() => status && status.on_air && draw(status), 1000);
};

// Thư viện: items per category, upload, record, listen, approve, remove.
let categories = [];
async function loadCategories() {
  categories = await api("GET", "/api/v1/categories");
  return categories;
}
const catName = (k) => (categories.find((c) => c.key === k) || { name: k }).name;

pages["thu-vien"] = async (main) => {
  const pick = el("select", { id: "category" });
  const list = el("div", { class: "table-wrap", id: "items" });
  const head = el("div", { class: "card" });
  main.append(el("h1", {}, "Thư viện"), head, el("div", { class: "card" }, el("h2", {}, "Các bài"), list));
  try { await loadCategories(); } catch (e) { return fail(e); }
  const wanted = sessionStorage.getItem("category");
  for (const c of categories) pick.append(el("option", { value: c.key, selected: c.key === wanted }, `${c.name}${c.approval ? " (cần duyệt)" : ""}`));
  const title = el("input", { id: "up-title", placeholder: "Để trống: lấy theo tên tệp" });
  const from = el("input", { id: "up-from", type: "date" });
  const until = el("input", { id: "up-until", type: "date" });
  const files = el("input", { id: "up-files", type: "file", multiple: true, accept: "audio/*,.mp3,.wav,.flac,.ogg,.opus,.m4a,.mp4,.webm" });
  const drop = el("div", { class: "drop", id: "drop" }, "Kéo thả tệp âm thanh vào đây, hoặc ", el("label", { class: "link", style: "display:inline;color:var(--accent);text-decoration:underline;cursor:pointer" }, "chọn tệp", files));
  files.style.display = "none";
  const uploads = el("div", { class: "uploads", id: "uploads" });
  const recBtn = el("button", { type: "button", id: "record", class: "secondary" }, "● Ghi âm");
  const recState = el("span", { id: "rec-state", class: "muted" });
  head.append(el("h2", {}, "Đưa bài lên"),
    el("label", {}, "Chuyên mục", pick),
    el("label", {}, "Tên bài", title),
    el("div", { class: "row" }, el("label", {}, "Phát từ ngày", from), el("label", {}, "Đến hết ngày", until)),
    el("div", { style: "margin-top:.6rem" }, drop),
    el("div", { class: "row", style: "margin-top:.6rem" }, recBtn, recState),
    uploads);

  const send = (file, name) => new Promise((resolve) => {
    const bar = el("progress", { max: 100, value: 0 });
    const line = el("div", { class: "muted" }, "Đang gửi…");
    const box = el("div", { class: "up" }, el("div", {}, name || file.name), bar, line);
    uploads.prepend(box);
    const form = new FormData();
    form.append("file", file, name || file.name);
    if (title.value.trim()) form.append("title", title.value.trim());
    if (from.value) form.append("valid_from", from.value);
    if (until.value) form.append("valid_until", until.value);
    const x = new XMLHttpRequest();
    x.open("POST", `/api/v1/library/${encodeURIComponent(pick.value)}`);
    x.setRequestHeader("X-CSRF-Token", session.csrf);
    x.upload.onprogress = (e) => { if (e.lengthComputable) bar.value = Math.round((100 * e.loaded) / e.total); };
    x.onload = () => {
      let data = {};
      try { data = JSON.parse(x.responseText); } catch (_) { /* not JSON */ }
      if (x.status >= 200 && x.status < 300) {
        bar.value = 100;
        const v = data.item || {};
        box.dataset.state = v.state || "";
        fill(line, el("span", { class: `state ${v.state}` }, STATE[v.state] || v.state),
          ` ${v.title || ""}${v.reason ? " — " + (REJECT[v.reason_code] || v.reason) : ""}`);
        line.className = "";
      } else {
        const err = new ApiError(x.status, (data.error || {}).code || `http_${x.status}`, (data.error || {}).message || "");
        box.dataset.state = "error";
        line.textContent = err.text; line.className = "alarm";
      }
      resolve();
      drawList();
    };
    x.onerror = () => { line.textContent = ERROR.network; line.className = "alarm"; resolve(); };
    x.send(form);
  });
  const sendAll = async (list) => { for (const f of list) await send(f); };
  files.addEventListener("change", () => { sendAll([...files.files]); files.value = ""; });
  drop.addEventListener("dragover", (e) => { e.preventDefault(); drop.classList.add("over"); });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (e) => { e.preventDefault(); drop.classList.remove("over"); sendAll([...e.dataTransfer.files]); });

  // Recording: the browser's MediaRecorder (WebM/Opus in Chrome and Android, MP4/AAC on an
  // iPhone). Browsers allow the microphone only on https or on this PC itself; elsewhere
  // the phone's own recorder opens through the file picker instead.
  let rec = null;
  if (!navigator.mediaDevices || !window.MediaRecorder) {
    recBtn.addEventListener("click", () => { files.setAttribute("capture", ""); files.click(); files.removeAttribute("capture"); });
    recState.textContent = "Trình duyệt chỉ cho ghi âm trực tiếp trên máy đài hoặc qua https; nút này mở máy ghi âm của điện thoại.";
  } else {
    recBtn.addEventListener("click", async () => {
      if (rec) { rec.stop(); return; }
      try {
        const stream = await navigator.mediaDevices.getUserMedia({ audio: true });
        const chunks = [];
        rec = new MediaRecorder(stream);
        const started = Date.now();
        const tick = setInterval(() => { recState.textContent = `Đang ghi ${fmtDur(Date.now() - started)}`; }, 250);
        rec.ondataavailable = (e) => e.data.size && chunks.push(e.data);
        rec.onstop = async () => {
          clearInterval(tick);
          stream.getTracks().forEach((t) => t.stop());
          const type = rec.mimeType || "audio/webm";
          const ext = type.includes("mp4") ? "m4a" : type.includes("ogg") ? "ogg" : "webm";
          const n = new Date();
          const name = `Ghi âm ${n.getFullYear()}-${pad(n.getMonth() + 1)}-${pad(n.getDate())} ${pad(n.getHours())}-${pad(n.getMinutes())}-${pad(n.getSeconds())}.${ext}`;
          rec = null;
          recBtn.textContent = "● Ghi âm"; recState.textContent = ""; recState.className = "muted";
          await send(new File(chunks, name, { type }), name);
        };
        rec.start(250);
        recBtn.textContent = "⏹ Dừng và gửi";
        recState.className = "rec";
        recState.textContent = "Đang ghi 0:00";
      } catch (e) {
        rec = null;
        toast(`Không mở được micro: ${e.message || e}`, true);
      }
    });
  }

  const player = el("audio", { controls: true, id: "player", hidden: true, preload: "none" });
  list.before(player);
  async function drawList() {
    if (current !== "thu-vien") return;
    let data;
    try { data = await api("GET", `/api/v1/library?category=${encodeURIComponent(pick.value)}`); } catch (e) { return fail(e); }
    const rows = data.items.map((v) => el("tr", { "data-item": v.path },
      el("td", {}, el("div", {}, v.title), el("div", { class: "muted" }, v.path.split("/").slice(1).join("/"))),
      el("td", {}, el("span", { class: `state ${v.state}` }, STATE[v.state] || v.state),
        v.state === "not_yet_valid" && v.valid_from ? el("div", { class: "muted" }, `từ ${fmtDate(v.valid_from)}`) : null,
        v.state === "expired" && v.valid_until ? el("div", { class: "muted" }, `đến ${fmtDate(v.valid_until)}`) : null,
        v.state === "settling" ? el("div", { class: "muted" }, "Đợi tệp chép xong") : null,
        v.state === "rejected" ? el("div", { class: "alarm reason" }, REJECT[v.reason_code] || "Không phát được tệp này.") : null,
        v.state === "rejected" && v.reason ? el("div", { class: "muted", lang: "en" }, v.reason) : null),
      el("td", {}, fmtDur(v.duration_ms)),
      el("td", {}, v.lufs === null || v.lufs === undefined ? "—" : `${v.lufs.toFixed(1)} LUFS`),
      el("td", {}, el("div", { class: "row" },
        el("button", { type: "button", class: "link", onclick: () => { player.hidden = false; player.src = `/api/v1/items/${encodeURIComponent(v.path).replace(/%2F/g, "/")}/audio`; player.play().catch(() => {}); } }, "Nghe"),
        v.state === "pending" && can("approver") ? el("button", { type: "button", class: "link", "data-action": "approve", onclick: () => approve(v) }, "Duyệt") : null,
        can("operator") ? el("button", { type: "button", class: "link", "data-action": "remove", onclick: () => remove(v) }, "Xóa") : null))));
    fill(list, rows.length
      ? el("table", {}, el("thead", {}, el("tr", {}, el("th", {}, "Bài"), el("th", {}, "Trạng thái"), el("th", {}, "Dài"), el("th", {}, "Độ lớn"), el("th", {}, ""))), el("tbody", {}, rows))
      : el("div", { class: "muted" }, "Chuyên mục này chưa có bài nào."));
  }
  const idOf = (v) => encodeURIComponent(v.path).replace(/%2F/g, "/");
  async function approve(v) {
    try { await api("POST", `/api/v1/items/${idOf(v)}/approve`); toast(`Đã duyệt "${v.title}"`); } catch (e) { fail(e); }
    drawList();
  }
  async function remove(v) {
    if (!(await confirmBox("Xóa bài?", `"${v.title}" sẽ được chuyển vào thùng rác (không mất hẳn; kỹ thuật viên lấy lại được).`, "Xóa"))) return;
    try { await api("DELETE", `/api/v1/items/${idOf(v)}`); toast(`Đã chuyển "${v.title}" vào thùng rác`); } catch (e) { fail(e); }
    setTimeout(drawList, 600);
  }
  pick.addEventListener("change", () => { sessionStorage.setItem("category", pick.value); drawList(); });
  let counts = "";
  listeners.add((s) => {
    const c = JSON.stringify(s.library);
    if (c !== counts) { counts = c; drawList(); }
  });
  drawList();
};

// Phát ngay: play an item or a category, skip, stop, emergency.
pages["phat-ngay"] = async (main) => {
  const now = el("div", { class: "card", id: "play-now" });
  main.append(el("h1", {}, "Phát ngay"), now);
  if (!can("operator")) {
    now.append(el("p", { class: "muted" }, "Tài khoản của bạn chỉ được xem. Người trực đài mới phát được."));
    return;
  }
  let lib;
  try { await loadCategories(); lib = await api("GET", "/api/v1/library"); } catch (e) { return fail(e); }
  const ready = lib.items.filter((v) => v.state === "ready");
  const cat = el("select", { id: "play-category" }, categories.map((c) => el("option", { value: c.key }, `${c.name} (${c.ready} bài sẵn sàng)`)));
  const item = el("select", { id: "play-item" }, ready.map((v) => el("option", { value: v.path }, `${v.title} — ${catName(v.category)}`)));
  const run = async (body, what) => {
    try { const r = await api("POST", "/api/v1/play", body); toast(r.outcome && r.outcome.now === false ? `${what} sẽ phát khi chương trình đang phát kết thúc` : `Đang phát ${what}`); } catch (e) { fail(e); }
  };
  now.append(
    el("h2", {}, "Phát một bài"),
    el("label", {}, "Bài", item),
    el("div", { class: "row" }, el("button", { type: "button", id: "play-item-btn", onclick: () => run({ item: item.value }, `"${item.selectedOptions[0]?.textContent || ""}"`) }, "▶ Phát bài này")),
    el("h2", { style: "margin-top:1rem" }, "Phát một chuyên mục"),
    el("label", {}, "Chuyên mục", cat),
    el("div", { class: "row" }, el("button", { type: "button", id: "play-category-btn", onclick: () => run({ category: cat.value }, `chuyên mục "${catName(cat.value)}"`) }, "▶ Phát chuyên mục")),
    el("h2", { style: "margin-top:1rem" }, "Đang phát"),
    el("div", { class: "row" },
      el("button", { type: "button", class: "secondary", id: "skip", onclick: async () => { try { await api("POST", "/api/v1/skip"); toast("Đã bỏ qua bài đang phát"); } catch (e) { fail(e); } } }, "⏭ Bỏ qua bài này"),
      el("button", { type: "button", class: "secondary", id: "stop", onclick: async () => { try { await api("POST", "/api/v1/stop"); toast("Đã dừng chương trình"); } catch (e) { fail(e); } } }, "⏹ Dừng chương trình")));

  const emCats = categories.filter((c) => c.priority === "emergency").map((c) => c.key);
  const emItems = ready.filter((v) => emCats.includes(v.category));
  const em = el("select", { id: "emergency-item" }, (emItems.length ? emItems : ready).map((v) => el("option", { value: v.path }, `${v.title} — ${catName(v.category)}`)));
  main.append(el("div", { class: "card", id: "emergency" },
    el("h2", {}, "Phát khẩn cấp"),
    el("p", { class: "muted" }, "Cắt ngay chương trình đang phát và phát thông báo này, lặp lại theo cấu hình của đài. Chỉ dùng khi thật sự khẩn cấp (thiên tai, dịch bệnh, sự cố)."),
    el("label", {}, "Thông báo", em),
    el("button", { type: "button", class: "emergency", id: "emergency-btn", onclick: async () => {
      const t = em.selectedOptions[0]?.textContent || "";
      if (!em.value) return toast("Chưa có bài nào để phát khẩn cấp", true);
      const ok = await confirmBox("Phát khẩn cấp?", `Loa sẽ cắt ngang chương trình đang phát để phát "${t}".`, "Phát khẩn cấp");
      if (!ok) return;
      try { await api("POST", "/api/v1/play", { item: em.value, emergency: true }); toast("Đang phát khẩn cấp"); } catch (e) { fail(e); }
    } }, "⚠ PHÁT KHẨN CẤP")));
};

// Lịch: the week's plan, and the schedule editor (admin).
pages["lich"] = async (main) => {
  const plan = el("div", { class: "card", id: "plan" }, el("h2", {}, "Lịch phát 7 ngày tới"), el("div", { class: "muted" }, "Đang tải…"));
  main.append(el("h1", {}, "Lịch"), plan);
  async function drawPlan() {
    let rows;
    try { await loadCategories(); rows = await api("GET", "/api/v1/plan?days=7"); } catch (e) { return fail(e); }
    const byDay = new Map();
    for (const r of rows) {
      const d = fmtDay(r.at);
      if (!byDay.has(d)) byDay.set(d, []);
      byDay.get(d).push(r);
    }
    const days = [...byDay.entries()].map(([d, rs]) => el("div", { class: "plan-day" }, el("h3", {}, d),
      rs.map((r) => el("div", { class: "plan-row", "data-programme": r.programme },
        el("strong", {}, `${fmtTime(r.at)} ${r.programme}`),
        r.priority !== "normal" ? ` (${PRIORITY[r.priority]})` : "",
        el("ul", {}, r.items.map((i) => el("li", {}, `${i.title} `, el("span", { class: "muted" }, fmtDur(i.duration_ms)))),
          (r.missing || []).map((m) => el("li", { class: "alarm" }, `Thiếu bài: chuyên mục "${catName(m.category)}" chỉ có ${m.found} trên ${m.wanted} bài phát được`, el("div", { class: "muted" }, m.reason_vi || m.reason))))))));
    fill(plan, el("h2", {}, "Lịch phát 7 ngày tới"), days.length ? days : el("div", { class: "muted" }, "Không có chương trình nào trong 7 ngày tới."));
  }
  drawPlan();
  if (!can("admin")) return;

  const text = el("textarea", { id: "schedule-text", spellcheck: "false", autocapitalize: "off", autocomplete: "off", "aria-label": "Nội dung tệp lịch schedule.yaml" });
  const gutter = el("div", { class: "gutter", "aria-hidden": "true" });
  const problems = el("ul", { class: "problems", id: "problems" });
  const save = el("button", { type: "button", id: "save-schedule", disabled: true }, "Lưu và áp dụng");
  const history = el("div", { id: "history" });
  main.append(el("div", { class: "card" },
    el("h2", {}, "Sửa lịch (schedule.yaml)"),
    el("p", { class: "muted" }, "Lỗi được kiểm tra ngay khi gõ. Chỉ lưu được khi không còn lỗi; bản đang chạy được giữ lại để khôi phục."),
    el("div", { class: "editor" }, gutter, text), problems, el("div", { class: "row end" }, save)),
    el("div", { class: "card" }, el("h2", {}, "Các bản trước"), history));
  let bad = new Set();
  const drawGutter = () => {
    const n = text.value.split("\n").length;
    fill(gutter, ...Array.from({ length: n }, (_, i) => el("div", { class: bad.has(i + 1) ? "err" : "" }, String(i + 1))));
    text.rows = n + 1;
  };
  const goTo = (line, col) => {
    const lines = text.value.split("\n");
    let at = 0;
    for (let i = 0; i < line - 1 && i < lines.length; i++) at += lines[i].length + 1;
    at += Math.max(0, (col || 1) - 1);
    text.focus();
    text.setSelectionRange(at, at + 1);
  };
  let seq = 0;
  async function check() {
    const mine = ++seq;
    let r;
    try { r = await api("POST", "/api/v1/schedule/check", text.value, "text/yaml; charset=utf-8"); } catch (e) { return fail(e); }
    if (mine !== seq) return;
    bad = new Set(r.problems.map((p) => p.line));
    fill(problems, ...(r.ok
      ? [el("li", { class: "ok" }, "Không có lỗi.")]
      : r.problems.map((p) => el("li", { "data-line": p.line, "data-col": p.col, onclick: () => goTo(p.line, p.col) },
        `Dòng ${p.line}, cột ${p.col}: ${p.message}${p.hint ? " — " + p.hint : ""}`))));
    save.disabled = !r.ok || text.value === text.dataset.saved;
    drawGutter();
  }
  let timer = null;
  text.addEventListener("input", () => { drawGutter(); save.disabled = true; clearTimeout(timer); timer = setTimeout(check, 400); });
  save.addEventListener("click", async () => {
    save.disabled = true;
    try {
      await api("PUT", "/api/v1/schedule", text.value, "text/yaml; charset=utf-8");
      text.dataset.saved = text.value;
      toast("Đã lưu lịch; đài đã áp dụng lịch mới");
      drawPlan(); drawHistory();
    } catch (e) {
      if (e.body && e.body.problems) check();
      fail(e);
    }
  });
  async function load(url) {
    try { text.value = await api("GET", url); } catch (e) { return fail(e); }
    drawGutter(); check();
  }
  async function drawHistory() {
    let rows;
    try { rows = await api("GET", "/api/v1/schedule/history"); } catch (e) { return fail(e); }
    fill(history, rows.length
      ? el("table", {}, el("tbody", {}, rows.slice(0, 20).map((h) => el("tr", {},
        el("td", {}, h.saved_at ? `${fmtTime(h.saved_at)} ${fmtDate(h.saved_at)}` : h.name),
        el("td", {}, el("button", { type: "button", class: "link", onclick: () => load(`/api/v1/schedule/history/${encodeURIComponent(h.name)}`) }, "Mở để khôi phục"))))))
      : el("div", { class: "muted" }, "Chưa có bản nào được thay."));
  }
  const cur = await api("GET", "/api/v1/schedule").catch(fail);
  if (typeof cur === "string") { text.value = cur; text.dataset.saved = cur; drawGutter(); check(); }
  drawHistory();
};

// Nhật ký & báo cáo: the airtime log with filters, the month's report, downloads.
pages["nhat-ky"] = async (main) => {
  const t = today();
  const from = el("input", { type: "date", id: "log-from", value: `${t.slice(0, 8)}01` });
  const to = el("input", { type: "date", id: "log-to", value: t });
  const cat = el("select", { id: "log-category" }, el("option", { value: "" }, "Tất cả chuyên mục"));
  const table = el("div", { class: "table-wrap", id: "airings" });
  const links = el("div", { class: "row", id: "downloads" });
  const month = el("input", { type: "month", id: "report-month", value: t.slice(0, 7) });
  const frame = el("iframe", { class: "report", id: "report", title: "Báo cáo tháng" });
  const rlinks = el("div", { class: "row", id: "report-downloads" });
  main.append(el("h1", {}, "Nhật ký & báo cáo"),
    el("div", { class: "card" }, el("h2", {}, "Nhật ký phát"),
      el("div", { class: "row" }, el("label", {}, "Từ ngày", from), el("label", {}, "Đến ngày", to), el("label", {}, "Chuyên mục", cat)),
      el("div", { style: "margin:.5rem 0" }, links), table),
    el("div", { class: "card" }, el("h2", {}, "Báo cáo kết quả phát thanh"),
      el("div", { class: "row" }, el("label", {}, "Tháng", month)), el("div", { style: "margin:.5rem 0" }, rlinks), frame));
  loadCategories().then((cs) => cs.forEach((c) => cat.append(el("option", { value: c.key }, c.name)))).catch(fail);
  const q = () => {
    const p = new URLSearchParams({ from: from.value, to: to.value });
    if (cat.value) p.set("category", cat.value);
    return p;
  };
  async function drawLog() {
    const p = q();
    fill(links, ...["csv", "xlsx", "json"].map((f) => { p.set("format", f); return el("a", { href: `/api/v1/airings?${p}`, download: "", "data-format": f }, `Tải ${f.toUpperCase()}`); }));
    p.set("format", "json");
    let rows;
    try { rows = await api("GET", `/api/v1/airings?${p}`); } catch (e) { return fail(e); }
    if (!Array.isArray(rows)) rows = rows.airings || [];
    fill(table, rows.length
      ? el("table", {}, el("thead", {}, el("tr", {}, ["Giờ", "Chương trình", "Bài", "Chuyên mục", "Kết quả"].map((h) => el("th", {}, h)))),
        el("tbody", {}, rows.slice(-500).reverse().map((a) => el("tr", {},
          el("td", {}, a.started_at || a.scheduled_at ? `${fmtTime(a.started_at || a.scheduled_at)} ${fmtDate(a.started_at || a.scheduled_at)}` : "—"),
          el("td", {}, a.programme || TRIGGER[a.trigger] || ""),
          el("td", {}, a.title || a.item_path || a.detail || ""),
          el("td", {}, a.category ? catName(a.category) : ""),
          el("td", {}, el("span", { class: `state ${a.status}` }, AIRING[a.status] || a.status),
            a.reason_vi || a.reason ? el("div", { class: "muted" }, a.reason_vi || a.reason) : null)))))
      : el("div", { class: "muted" }, "Không có lượt phát nào trong khoảng này."));
  }
  function drawReport() {
    const m = month.value;
    frame.src = `/api/v1/report?month=${m}&format=html`;
    fill(rlinks, 
      el("a", { href: `/api/v1/report?month=${m}&format=html`, download: `bao-cao-${m}.html` }, "Tải HTML (in được)"),
      el("a", { href: `/api/v1/report?month=${m}&format=json`, download: `bao-cao-${m}.json` }, "Tải JSON"));
  }
  for (const i of [from, to, cat]) i.addEventListener("change", drawLog);
  month.addEventListener("change", drawReport);
  drawLog(); drawReport();
  if (can("admin")) {
    const audit = el("div", { class: "table-wrap", id: "audit" });
    main.append(el("div", { class: "card" }, el("h2", {}, "Nhật ký thao tác"),
      el("a", { href: "/api/v1/audit?format=csv", download: "" }, "Tải CSV"), audit));
    api("GET", "/api/v1/audit?days=7").then((rows) => fill(audit, el("table", {},
      el("thead", {}, el("tr", {}, ["Lúc", "Ai", "Từ", "Việc", "Đối tượng", "Kết quả"].map((h) => el("th", {}, h)))),
      el("tbody", {}, rows.slice(-200).reverse().map((r) => el("tr", {}, el("td", {}, `${fmtTime(r.at)} ${fmtDate(r.at)}`),
        el("td", {}, r.who), el("td", {}, `${r.via}${r.address ? " " + r.address : ""}`), el("td", {}, ACTION[r.action] || r.action),
        el("td", {}, r.target || ""), el("td", {}, OUTCOME[r.outcome] || r.outcome))))))).catch(fail);
  }
};

// ---- Log in and out -------------------------------------------------------------------

function showLogin(message) {
  if (events) { events.close(); events = null; }
  $("#top").hidden = true;
  $("#emergency-banner").hidden = true;
  const user = el("input", { id: "login-user", autocomplete: "username", required: true, autocapitalize: "off" });
  const pass = el("input", { id: "login-password", type: "password", autocomplete: "current-password", required: true });
  const msg = el("div", { class: "alarm", id: "login-error" }, message || "");
  const form = el("form", { class: "card login", id: "login" },
    el("h1", {}, "Đăng nhập"), el("label", {}, "Tên đăng nhập", user), el("label", {}, "Mật khẩu", pass), msg,
    el("div", { class: "row end", style: "margin-top:.8rem" }, el("button", { type: "submit" }, "Đăng nhập")));
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    msg.textContent = "";
    try {
      const r = await api("POST", "/api/v1/session", { user: user.value.trim(), password: pass.value });
      Object.assign(session, r);
      started();
    } catch (err) {
      msg.textContent = err.code === "unauthorized" ? "Sai tên đăng nhập hoặc mật khẩu." : err.text;
    }
  });
  $("#main").replaceChildren(form);
  user.focus();
}

function started() {
  $("#top").hidden = false;
  $("#who").textContent = `${session.user} (${ROLE[session.role] || session.role})`;
  startEvents();
  route();
}

$("#logout").addEventListener("click", async () => {
  try { await api("DELETE", "/api/v1/session"); } catch (_) { /* logged out anyway */ }
  session.user = null;
  showLogin("Đã đăng xuất.");
});
window.addEventListener("hashchange", route);

(async () => {
  try {
    Object.assign(session, await api("GET", "/api/v1/session"));
    started();
  } catch (_) {
    showLogin();
  }
})();
