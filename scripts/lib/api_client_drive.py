"""Drives a patrol officer's sync through a Python client generated from the server's
OpenAPI document (openapi-python-client), for scripts/api-client.

    api_client_drive.py --client DIR/patrol_api_client --base http://127.0.0.1:PORT \
        --login patrol --password PW --photo photo.jpg

Every request below goes through the generated package: its operation modules, found
by operationId (`post_auth_login`, `post_sync_push`, `get_photos_sha256_upload`,
`put_photos_sha256_upload`, `get_sync_pull` …), and its models. Nothing here speaks
HTTP itself. Each answer must be the operation's documented success model, parse
without error, carry no field the document does not describe, and read back (model
to JSON) exactly as the server sent it; each request model must write out exactly
the body it was built from (the records' hashes cover every byte of it).

The steps: sign in; read the site's routes, checkpoints and departments; ask the
sync status (its time token is the push's clock evidence); push one chain (a run
started, a GPS visit to each checkpoint of the route, a photo taken, a notice
raised citing the photo, the run finished), every record to be applied, then a
push that skips a seq, refused (409 sync_gap, the documented error body); upload the
photo (status, one chunk at offset 0, complete); pull from the start (the reference
data with our route, and our notice, numbered as the push said, its photo arrived);
and read the run back (finished, complete).

Exits 1 with a message on the first mismatch; document problems found on the way
(an answer or body the models cannot represent faithfully) are listed and also exit 1.
"""

import argparse
import hashlib
import importlib
import inspect
import io
import json
import os
import re
import sys
import time
import typing
import uuid

import httpx  # the generated client's own dependency, in the same venv

GENESIS_HASH = "0" * 64
HASH_DOMAIN = b"patrol-record/1\n"

problems = []  # document problems: reported together, the run goes on where it can
last_response = [None]  # the last HTTP answer the generated client received


class Failed(Exception):
    pass


def fail(msg):
    raise Failed(msg)


def problem(msg):
    problems.append(msg)
    print(f"api-client: document problem: {msg}", file=sys.stderr)


# --- Records: canonical encoding and hash (protocol/src/record.rs) -------------------


def canonical_bytes(record):
    """serde_json's encoding of the record as a Value: keys sorted, no whitespace,
    UTF-8 unescaped. Floats must be Python floats where the record has f64 (serde
    writes 5.0, not 5); integers stay integers."""
    return json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode()


def record_hash(record):
    return hashlib.sha256(HASH_DOMAIN + canonical_bytes(record)).hexdigest()


def self_check_hash():
    """Test vectors 1 and 2 of protocol/src/record.rs."""
    v1 = {
        "id": "01890a5d-ac96-774b-bcce-b302099a8057",
        "author": "00000000-0000-0000-0000-0000000000a1",
        "device": "00000000-0000-0000-0000-0000000000d1",
        "seq": 1,
        "device_time_ms": 1790000000000,
        "prev_hash": GENESIS_HASH,
        "payload": {
            "kind": "checkpoint_visited",
            "run_id": "00000000-0000-0000-0000-000000000001",
            "visit_id": "00000000-0000-0000-0000-000000000002",
            "checkpoint_id": "00000000-0000-0000-0000-000000000003",
            "check_in": {"method": "gps", "latitude": 31.2304, "longitude": 121.4737, "accuracy_m": 8.5, "distance_m": 3.25},
            "out_of_order": False,
        },
    }
    canonical = (
        '{"author":"00000000-0000-0000-0000-0000000000a1","device":"00000000-0000-0000-0000-0000000000d1",'
        '"device_time_ms":1790000000000,"id":"01890a5d-ac96-774b-bcce-b302099a8057","payload":{"check_in":'
        '{"accuracy_m":8.5,"distance_m":3.25,"latitude":31.2304,"longitude":121.4737,"method":"gps"},'
        '"checkpoint_id":"00000000-0000-0000-0000-000000000003","kind":"checkpoint_visited","out_of_order":false,'
        '"run_id":"00000000-0000-0000-0000-000000000001","visit_id":"00000000-0000-0000-0000-000000000002"},'
        '"prev_hash":"0000000000000000000000000000000000000000000000000000000000000000","seq":1}'
    )
    if canonical_bytes(v1).decode() != canonical:
        fail("the canonical encoding does not reproduce test vector 1 of protocol/src/record.rs")
    if record_hash(v1) != "acb06614a1cad5960cb1c71c893840f5bc98b1815b84c9000dece1bb4f6a51b3":
        fail("the record hash does not reproduce test vector 1 of protocol/src/record.rs")
    v2 = dict(v1, payload={"kind": "correction", "corrects": v1["id"], "reason": "误扫，应为2号楼"})
    if '"reason":"误扫，应为2号楼"' not in canonical_bytes(v2).decode():
        fail("the canonical encoding escapes non-ASCII text (test vector 2)")
    if record_hash(v2) != "50a369dac5d3c32a75c2a51542d517ce5221eb9ce376d8241d925a2447dd2c1d":
        fail("the record hash does not reproduce test vector 2 of protocol/src/record.rs")


def uuid7():
    ms = time.time_ns() // 1_000_000
    rand = int.from_bytes(os.urandom(10), "big")
    value = (ms & ((1 << 48) - 1)) << 80 | 0x7 << 76 | (rand >> 68 & 0xFFF) << 64 | 0b10 << 62 | (rand & ((1 << 62) - 1))
    return str(uuid.UUID(int=value))


def jpeg_size(data):
    """(width, height) from the JPEG's frame header."""
    i = 2
    while i + 9 <= len(data):
        if data[i] != 0xFF:
            fail("the photo is not a well-formed JPEG")
        marker = data[i + 1]
        length = int.from_bytes(data[i + 2 : i + 4], "big")
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            return int.from_bytes(data[i + 7 : i + 9], "big"), int.from_bytes(data[i + 5 : i + 7], "big")
        i += 2 + length
    fail("the photo has no JPEG frame header")


# --- The generated client ------------------------------------------------------------


class Api:
    def __init__(self, package_dir, base_url):
        self.base_url = base_url
        sys.path.insert(0, os.path.dirname(os.path.abspath(package_dir)))
        self.name = os.path.basename(os.path.abspath(package_dir))
        self.pkg = importlib.import_module(self.name)
        self.client_mod = importlib.import_module(f"{self.name}.client")
        self.types = importlib.import_module(f"{self.name}.types")
        self.api_dir = os.path.join(os.path.abspath(package_dir), "api")

    def op(self, operation_id):
        """The generated module of an operation, whatever tag it was filed under."""
        found = [
            tag
            for tag in sorted(os.listdir(self.api_dir))
            if os.path.isfile(os.path.join(self.api_dir, tag, f"{operation_id}.py"))
        ]
        if len(found) != 1:
            fail(f"the generated client has {len(found)} modules for operationId {operation_id} (expected 1)")
        return importlib.import_module(f"{self.name}.api.{found[0]}.{operation_id}")

    def client(self, token=None):
        def remember(response):
            last_response[0] = response

        common = dict(
            base_url=self.base_url,
            raise_on_unexpected_status=True,
            timeout=httpx.Timeout(20.0),
            headers={"X-Patrol-Protocol": "1", "Accept-Language": "en"},
            httpx_args={"event_hooks": {"response": [remember]}},
        )
        if token is None:
            return self.client_mod.Client(**common)
        return self.client_mod.AuthenticatedClient(token=token, **common)


def success_types(module):
    """The model classes (or list[...]) a call of the module answers on success: its
    declared answer types other than the error body."""
    hints = typing.get_type_hints(module.sync_detailed)
    answer = typing.get_args(hints["return"])[0]
    return [t for t in (typing.get_args(answer) or (answer,)) if getattr(t, "__name__", "") != "ErrorBody"]


def to_json(value):
    if isinstance(value, list):
        return [to_json(v) for v in value]
    if hasattr(value, "to_dict"):
        return value.to_dict()
    return value


def diff(sent, read, path="$"):
    """The first place two JSON values differ, or None."""
    if isinstance(sent, dict) and isinstance(read, dict):
        for k in sorted(set(sent) | set(read)):
            if k not in read:
                return f"{path}.{k}: sent {json.dumps(sent[k], ensure_ascii=False)[:200]}, the model has none"
            if k not in sent:
                return f"{path}.{k}: not sent, the model gives {json.dumps(read[k], ensure_ascii=False)[:200]}"
            d = diff(sent[k], read[k], f"{path}.{k}")
            if d:
                return d
        return None
    if isinstance(sent, list) and isinstance(read, list):
        if len(sent) != len(read):
            return f"{path}: {len(sent)} items sent, {len(read)} in the model"
        for i, (a, b) in enumerate(zip(sent, read)):
            d = diff(a, b, f"{path}[{i}]")
            if d:
                return d
        return None
    if sent != read or type(sent) is not type(read):
        return f"{path}: sent {json.dumps(sent, ensure_ascii=False)[:200]}, the model gives {json.dumps(read, ensure_ascii=False)[:200]}"
    return None


def undocumented(value, path="$"):
    """Fields the models kept only as `additional_properties`: the document does not
    describe them."""
    found = []
    if isinstance(value, list):
        for i, v in enumerate(value):
            found += undocumented(v, f"{path}[{i}]")
    elif hasattr(value, "__attrs_attrs__"):
        for a in value.__attrs_attrs__:
            v = getattr(value, a.name)
            if a.name == "additional_properties":
                found += [f"{path}.{k} (in {type(value).__name__})" for k in v]
            else:
                found += undocumented(v, f"{path}.{a.name}")
    return found


def call(api, what, operation_id, client, **kwargs):
    """Calls an operation through its generated module and checks the answer: 200,
    the documented success model, nothing undocumented, and a faithful read-back."""
    module = api.op(operation_id)
    last_response[0] = None
    try:
        resp = module.sync_detailed(client=client, **kwargs)
    except Exception as e:  # the generated client could not parse (or send) it
        raw = last_response[0]
        got = f"HTTP {raw.status_code}: {raw.content[:600].decode(errors='replace')}" if raw is not None else "no answer"
        fail(f"{what} ({operation_id}): the generated client failed: {type(e).__name__}: {e}; the server said {got}")
    if int(resp.status_code) != 200:
        fail(f"{what} ({operation_id}): HTTP {int(resp.status_code)}: {resp.content[:600].decode(errors='replace')}")
    expected = success_types(module)
    parsed = resp.parsed

    def matches(t, v):
        if typing.get_origin(t) is list:
            (item,) = typing.get_args(t)
            return isinstance(v, list) and all(isinstance(x, item) for x in v)
        return isinstance(v, t)

    if not any(matches(t, parsed) for t in expected):
        fail(f"{what} ({operation_id}): answered {type(parsed).__name__}, not the documented {expected}")
    for field in undocumented(parsed):
        problem(f"{operation_id} 200: the server sent {field}, which the document does not describe")
    d = diff(json.loads(resp.content), to_json(parsed))
    if d:
        problem(f"{operation_id} 200: the answer does not read back faithfully through the generated model: {d}")
    return parsed


def call_refused(api, what, operation_id, client, status, error, reason, **kwargs):
    """Calls an operation that must be refused: the documented ErrorBody, with that
    status, error and reason, nothing undocumented, read back faithfully."""
    module = api.op(operation_id)
    last_response[0] = None
    try:
        resp = module.sync_detailed(client=client, **kwargs)
    except Exception as e:
        raw = last_response[0]
        got = f"HTTP {raw.status_code}: {raw.content[:600].decode(errors='replace')}" if raw is not None else "no answer"
        fail(f"{what} ({operation_id}): the generated client failed: {type(e).__name__}: {e}; the server said {got}")
    parsed = resp.parsed
    if int(resp.status_code) != status or not isinstance(parsed, module.ErrorBody):
        fail(f"{what} ({operation_id}): expected {status} ErrorBody, got HTTP {int(resp.status_code)} {type(parsed).__name__}: "
             f"{resp.content[:600].decode(errors='replace')}")
    if (parsed.error, parsed.reason) != (error, reason) or not parsed.message_en or not parsed.message_zh:
        fail(f"{what} ({operation_id}): expected {error}/{reason} with both texts, got {parsed.to_dict()}")
    for field in undocumented(parsed):
        problem(f"{operation_id} {status}: the server sent {field}, which the document does not describe")
    d = diff(json.loads(resp.content), to_json(parsed))
    if d:
        problem(f"{operation_id} {status}: the error does not read back faithfully through the generated model: {d}")
    return parsed


def body_model(api, operation_id, body):
    """The operation's request-body model, built from a plain dict with from_dict; it
    must write out exactly that dict again."""
    module = api.op(operation_id)
    cls = typing.get_type_hints(module.sync_detailed).get("body")
    if cls is None or not hasattr(cls, "from_dict"):
        fail(f"{operation_id}: the generated client has no request-body model (body: {cls})")
    try:
        model = cls.from_dict(body)
    except Exception as e:
        fail(f"{operation_id}: {cls.__name__}.from_dict refused the body: {type(e).__name__}: {e}")
    d = diff(body, model.to_dict())
    if d:
        problem(f"{operation_id} request body: {cls.__name__} does not write back what it was given: {d}")
    return model


def value(x):
    """An enum member's value, or the value itself (Literal-typed fields)."""
    return getattr(x, "value", x)


# --- The drive -----------------------------------------------------------------------


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--client", required=True, help="the generated package's directory")
    p.add_argument("--base", required=True)
    p.add_argument("--login", required=True)
    p.add_argument("--password", required=True)
    p.add_argument("--photo", required=True)
    args = p.parse_args()
    self_check_hash()
    api = Api(args.client, args.base.rstrip("/"))
    started = time.monotonic()

    # 1. Sign in.
    device_id = uuid7()
    anon = api.client()
    login = body_model(api, "post_auth_login", {"login": args.login, "password": args.password, "device_id": device_id})
    tok = call(api, "login", "post_auth_login", anon, body=login)
    if not tok.access_token or tok.token_type.lower() != "bearer":
        fail(f"login: no bearer token (token_type {tok.token_type!r})")
    if tok.must_change_password:
        fail("login: the demo's patrol officer must change the password first")
    me_id = str(tok.person_id)
    c = api.client(tok.access_token)
    me = call(api, "who am I", "get_me", c)
    if str(me.person_id) != me_id or me.login != args.login:
        fail(f"get_me: {me.login} {me.person_id}, but signed in as {args.login} {me_id}")
    roles = [value(r.role) for r in tok.roles]
    if "patrol_staff" not in roles:
        fail(f"login: {args.login} has roles {roles}, not patrol_staff")

    # The officer's site, a route with checkpoints, a department.
    sites = call(api, "sites", "get_sites", c)
    staff_sites = {str(r.site_id) for r in tok.roles if value(r.role) == "patrol_staff"}
    site = next((s for s in sites if str(s.id) in staff_sites), None)
    if site is None:
        fail(f"get_sites: none of {len(sites)} sites is the officer's ({staff_sites})")
    site_id = str(site.id)
    routes = call(api, "routes", "get_sites_site_id_routes", c, site_id=site.id)
    checkpoints = {str(cp.id): cp for cp in call(api, "checkpoints", "get_sites_site_id_checkpoints", c, site_id=site.id)}
    departments = call(api, "departments", "get_sites_site_id_departments", c, site_id=site.id)
    route = next((r for r in routes if r.checkpoint_ids and all(str(i) in checkpoints for i in r.checkpoint_ids)), None)
    if route is None or not departments:
        fail(f"site {site.code}: no route with known checkpoints ({len(routes)} routes) or no department")
    route_cps = [checkpoints[str(i)] for i in route.checkpoint_ids]

    # The clock evidence: the server's signed time from the status, and the time since.
    status = call(api, "sync status", "get_sync_status", c, device_id=uuid.UUID(device_id))
    status_at = time.monotonic()
    if status.acked_seq != 0 or status.acked_hash != GENESIS_HASH or not status.time_token:
        fail(f"get_sync_status: a new device should be at 0/genesis with a time token, got {status.acked_seq}/{status.acked_hash}")

    # 2. The chain.
    photo = open(args.photo, "rb").read()
    sha = hashlib.sha256(photo).hexdigest()
    width, height = jpeg_size(photo)
    run_id, notice_id = uuid7(), uuid7()
    now = int(time.time() * 1000)
    last = route_cps[-1]
    payloads = [{"kind": "run_started", "run_id": run_id, "route_id": str(route.id), "site_id": site_id}]
    for cp in route_cps:
        payloads.append({
            "kind": "checkpoint_visited",
            "run_id": run_id,
            "visit_id": uuid7(),
            "checkpoint_id": str(cp.id),
            "check_in": {"method": "gps", "latitude": float(cp.latitude), "longitude": float(cp.longitude),
                         "accuracy_m": 5.0, "distance_m": 0.0},
            "out_of_order": False,
        })
    payloads.append({
        "kind": "photo_taken",
        "sha256": sha,
        "bytes": len(photo),
        "width": width,
        "height": height,
        "captured_at_ms": now,
        "latitude": float(last.latitude),
        "longitude": float(last.longitude),
        "context": {"run_id": run_id, "checkpoint_id": str(last.id), "notice_id": None},
    })
    payloads.append({
        "kind": "notice_raised",
        "notice_id": notice_id,
        "site_id": site_id,
        "department_id": str(departments[0].id),
        "checkpoint_id": str(last.id),
        "run_id": run_id,
        "location": f"{last.name_zh} / API client check",
        "description": "墙面渗水（生成的客户端检查）/ water stain on the wall (generated client check)",
        "severity": "general",
        "due_ms": now + 3 * 86_400_000,
        "photos": [sha],
    })
    payloads.append({"kind": "run_finished", "run_id": run_id, "missed_reason": None})
    records, prev = [], GENESIS_HASH
    for seq, payload in enumerate(payloads, start=1):
        rec = {
            "id": uuid7(),
            "author": me_id,
            "device": device_id,
            "seq": seq,
            "device_time_ms": now - (len(payloads) - seq) * 1000,
            "prev_hash": prev,
            "payload": payload,
        }
        prev = record_hash(rec)
        records.append(rec)
    sent_at = int(time.time() * 1000)
    elapsed = int((time.monotonic() - status_at) * 1000)
    push_body = body_model(api, "post_sync_push", {
        "device_id": device_id,
        "sent_at_ms": sent_at,
        "records": records,
        "clock": {"time_token": status.time_token, "elapsed_ms": elapsed},
    })
    for rec, model in zip(records, push_body.records):
        if record_hash(model.to_dict()) != record_hash(rec):
            fail(f"post_sync_push: the Record model changes record seq {rec['seq']} ({rec['payload']['kind']}): its hash differs")
    pushed = call(api, "push", "post_sync_push", c, body=push_body)
    outcomes = [(r.seq, str(r.record_id), value(r.status), r.reason) for r in pushed.results]
    expected = [(r["seq"], r["id"], "applied", None) for r in records]
    if [(s, i, st) for s, i, st, _ in outcomes] != [(s, i, st) for s, i, st, _ in expected]:
        bad = [f"seq {s} {records[s - 1]['payload']['kind']}: {st} {reason or ''}".strip()
               for s, _, st, reason in outcomes if st != "applied"]
        fail(f"push: not every record applied: {bad or outcomes}")
    if pushed.acked_seq != len(records) or pushed.acked_hash != prev:
        fail(f"push: acked {pushed.acked_seq}/{pushed.acked_hash}, expected {len(records)}/{prev}")
    if not pushed.time_token:
        fail("push: no time_token in the answer")
    number = pushed.results[-2].notice_number
    if not isinstance(number, str) or not re.fullmatch(rf"{re.escape(site.code)}-\d{{4}}-\d{{6}}", number):
        fail(f"push: the notice_raised record was not numbered ({number!r})")

    # A push that skips a seq is refused whole, with the documented error body.
    gap = {
        "id": uuid7(),
        "author": me_id,
        "device": device_id,
        "seq": len(records) + 2,
        "device_time_ms": now,
        "prev_hash": prev,
        "payload": {"kind": "correction", "corrects": records[0]["id"], "reason": "gap check"},
    }
    gap_body = body_model(api, "post_sync_push", {"device_id": device_id, "sent_at_ms": now, "records": [gap]})
    call_refused(api, "push with a gap", "post_sync_push", c, 409, "conflict", "sync_gap", body=gap_body)

    # 3. The photo: its status, one chunk, complete.
    st = call(api, "photo status", "get_photos_sha256_upload", c, sha256=sha)
    if (st.sha256, st.size, st.received, st.complete) != (sha, len(photo), 0, False):
        fail(f"photo status before upload: {st.to_dict()}, expected size {len(photo)}, nothing received")
    put = api.op("put_photos_sha256_upload")
    body_type = typing.get_type_hints(put.sync_detailed).get("body")
    if body_type is not api.types.File:
        problem(
            "PUT /api/v1/photos/{sha256}/upload: the application/octet-stream request body is typed "
            f"{getattr(body_type, '__name__', body_type)} in the generated client (it reads body.payload, a File): "
            'its schema {"type":"string","contentMediaType":"application/octet-stream"} needs "format":"binary" '
            "for openapi-python-client to see raw bytes"
        )
    st = call(api, "photo upload", "put_photos_sha256_upload", c, sha256=sha, offset=0,
              body=api.types.File(payload=io.BytesIO(photo), file_name=f"{sha}.jpg", mime_type="image/jpeg"))
    if (st.sha256, st.size, st.received, st.complete) != (sha, len(photo), len(photo), True):
        fail(f"photo upload: {st.to_dict()}, expected complete with {len(photo)} bytes received")

    # 4. Pull from the start: reference data, and our notice.
    cursor, pages, reference, notices, rejections = "", 0, None, {}, []
    while True:
        page = call(api, "pull", "get_sync_pull", c, cursor=cursor, limit=500)
        pages += 1
        if not re.fullmatch(r"v1\.\d+", page.cursor) or (cursor and int(page.cursor[3:]) < int(cursor[3:])):
            fail(f"pull: cursor {page.cursor!r} after {cursor!r}")
        if pages == 1 and page.reference is None:
            fail("pull: the first pull (no cursor) carries no reference data")
        reference = page.reference or reference
        notices.update({str(n.id): n for n in page.notices})
        rejections += page.rejections
        cursor = page.cursor
        if not page.more:
            break
        if pages >= 20:
            fail("pull: still more after 20 pages of 500")
    if site_id not in {str(s.id) for s in reference.sites} or str(route.id) not in {str(r.id) for r in reference.routes}:
        fail("pull: the reference data lacks the officer's site or route")
    if me_id not in {str(p.id) for p in reference.people}:
        fail("pull: the reference data lacks the officer")
    ours = {r["id"] for r in records}
    refused = [r.to_dict() for r in rejections if str(r.record_id) in ours]
    if refused:
        fail(f"pull: rejections of this push's records: {refused}")
    n = notices.get(notice_id)
    if n is None:
        fail(f"pull: our notice {notice_id} is not among the {len(notices)} pulled")
    got = (n.number, str(n.issuer_id), str(n.run_id), list(n.photos), n.photos_complete, value(n.state), str(n.site_id))
    want = (number, me_id, run_id, [sha], True, "issued", site_id)
    if got != want:
        fail(f"pull: our notice reads {got}, expected {want}")
    again = call(api, "pull again", "get_sync_pull", c, cursor=cursor)
    if again.cursor != cursor or again.notices or again.rejections or again.reference is not None:
        fail(f"pull from the last cursor: expected nothing new, got {again.to_dict()}")

    # The run, as the server projected it.
    run = call(api, "run", "get_runs_run_id", c, run_id=uuid.UUID(run_id))
    visited = [str(v.checkpoint_id) for v in run.visits]
    if (str(run.person_id), visited, run.missed_checkpoints, list(run.photos), run.complete) != (
        me_id, [str(i) for i in route.checkpoint_ids], [], [sha], True
    ):
        fail(f"get_runs_run_id: the run reads {run.to_dict()}")

    if problems:
        print(f"api-client: FAILED: {len(problems)} document problem(s) (above); the drive itself went through",
              file=sys.stderr)
        return 1
    print(
        f"api-client: passed: {args.login} signed in, pushed {len(records)} records (all applied, notice {number}), "
        f"uploaded a {width}x{height} photo of {len(photo)} bytes (complete), pulled {pages} page(s) to {cursor} "
        f"with our notice, run complete; all through the generated client ({time.monotonic() - started:.1f}s)"
    )
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except Failed as e:
        print(f"api-client: FAILED: {e}", file=sys.stderr)
        if problems:
            print(f"api-client: (and {len(problems)} document problem(s) above)", file=sys.stderr)
        sys.exit(1)
    except Exception:  # a model without the field read, a call the client cannot make …
        import traceback

        traceback.print_exc()
        print("api-client: FAILED: the drive broke (traceback above)", file=sys.stderr)
        sys.exit(1)
