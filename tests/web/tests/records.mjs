// A minimal phone in JavaScript for setting up browser tests through the JSON API:
// records hashed exactly as protocol/src/record.rs does (SHA-256 over
// "patrol-record/1\n" + canonical JSON), chained per device, pushed, photos uploaded.
// records.test.mjs checks the hash against the protocol's test vector 1.
import { createHash, randomBytes, randomUUID } from "node:crypto";
import { BASE, password } from "./browser.mjs";

export const GENESIS = "0".repeat(64);

/** JSON with object keys sorted at every level and no whitespace, as serde_json
 *  writes a `Value`. Numbers must be integers or simple decimals (JS and serde_json
 *  then print them the same, shortest round-trip), and a field that is a float in
 *  Rust must not hold a whole number: serde_json writes 5.0 where JS writes 5. */
export function canonical(value) {
  if (value === null || typeof value !== "object") {
    if (typeof value === "number" && !Number.isFinite(value)) throw new Error("numbers must be finite");
    return JSON.stringify(value);
  }
  if (Array.isArray(value)) return `[${value.map(canonical).join(",")}]`;
  const keys = Object.keys(value).sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonical(value[k])}`).join(",")}}`;
}

export function recordHash(record) {
  return createHash("sha256").update("patrol-record/1\n").update(canonical(record)).digest("hex");
}

/** A UUIDv7: 48 bits of milliseconds, version 7, variant 10, random rest. */
export function uuidv7() {
  const b = randomBytes(16);
  const ms = BigInt(Date.now());
  for (let i = 0; i < 6; i++) b[i] = Number((ms >> BigInt(8 * (5 - i))) & 0xffn);
  b[6] = (b[6] & 0x0f) | 0x70;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = b.toString("hex");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

export async function api(method, path, token, body, headers = {}) {
  const response = await fetch(`${BASE}${path}`, {
    method,
    headers: {
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...(body && !(body instanceof Uint8Array) ? { "content-type": "application/json" } : {}),
      ...headers,
    },
    body: body instanceof Uint8Array ? body : body ? JSON.stringify(body) : undefined,
  });
  const text = await response.text();
  const json = text ? JSON.parse(text) : null;
  if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${text}`);
  return json;
}

/** A signed-in device with its own record chain. */
/** When a walk that began `backMs` ago began, kept within the site's today: just
 * after local midnight a walk "40 minutes ago" would be yesterday's and missing from
 * today's pages. Its later events may then fall a little after now (a phone's clock
 * may run ahead; the server accepts up to a week). */
export function walkStart(site, backMs, now = Date.now()) {
  const offset = site.utc_offset_minutes * 60e3;
  const midnight = now - ((now + offset) % 86400e3);
  return Math.max(now - backMs, midnight + 1e3);
}

export class Phone {
  static async signIn(login) {
    const device = randomUUID();
    const body = await api("POST", "/api/v1/auth/login", null, { login, password: password(login), device_id: device });
    const phone = new Phone();
    Object.assign(phone, { token: body.access_token, person: body.person_id, device, seq: 0, prev: GENESIS, queued: [] });
    return phone;
  }

  async reference() {
    return (await api("GET", "/api/v1/sync/pull?cursor=", this.token)).reference;
  }

  record(payload, deviceTime = Date.now()) {
    this.seq += 1;
    const r = {
      id: uuidv7(),
      author: this.person,
      device: this.device,
      seq: this.seq,
      device_time_ms: deviceTime,
      prev_hash: this.prev,
      payload,
    };
    this.prev = recordHash(r);
    this.queued.push(r);
    return r;
  }

  /** The QR label text of each checkpoint of `site`, as the administrator prints them
   * (phones receive only digests). */
  static async labels(site) {
    const admin = await Phone.signIn("admin");
    const printed = await api("GET", `/api/v1/sites/${site}/checkpoints`, admin.token);
    return Object.fromEntries(printed.map((cp) => [cp.id, cp.qr_token]));
  }

  /** Pushes everything queued, with clock evidence as the phone core sends it (the
   * server's signed time just before); every record must be applied. */
  async push() {
    const status = await api("GET", `/api/v1/sync/status?device_id=${this.device}`, this.token);
    const body = {
      device_id: this.device, sent_at_ms: Date.now(), records: this.queued,
      clock: { time_token: status.time_token, elapsed_ms: 0 },
    };
    const resp = await api("POST", "/api/v1/sync/push", this.token, body);
    this.queued = [];
    const refused = resp.results.filter((r) => r.status === "rejected");
    if (refused.length) throw new Error(`records refused: ${JSON.stringify(refused)}`);
    return resp;
  }

  async upload(sha, bytes) {
    return api("PUT", `/api/v1/photos/${sha}/upload?offset=0`, this.token, new Uint8Array(bytes), {
      "content-type": "application/octet-stream",
    });
  }
}

export function sha256(bytes) {
  return createHash("sha256").update(bytes).digest("hex");
}

export function photoTaken(sha, bytes, width, height) {
  return {
    kind: "photo_taken",
    sha256: sha,
    bytes: bytes.length,
    width,
    height,
    captured_at_ms: Date.now(),
    latitude: 31.2304,
    longitude: 121.4737,
    context: { run_id: null, checkpoint_id: null, notice_id: null },
  };
}

export function noticeRaised({ site, department, location, description, photos, dueMs, severity = "general" }) {
  return {
    kind: "notice_raised",
    notice_id: uuidv7(),
    site_id: site,
    department_id: department,
    checkpoint_id: null,
    run_id: null,
    location,
    description,
    severity,
    due_ms: dueMs,
    photos,
  };
}
