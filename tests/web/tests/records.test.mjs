// The JavaScript record hash must equal the protocol's: test vector 1 of
// protocol/src/record.rs, so the test set-up cannot silently drift from it.
import { test } from "node:test";
import assert from "node:assert/strict";
import { canonical, recordHash, uuidv7 } from "./records.mjs";

const VECTOR_1 = {
  id: "01890a5d-ac96-774b-bcce-b302099a8057",
  author: "00000000-0000-0000-0000-0000000000a1",
  device: "00000000-0000-0000-0000-0000000000d1",
  seq: 1,
  device_time_ms: 1790000000000,
  prev_hash: "0".repeat(64),
  payload: {
    kind: "checkpoint_visited",
    run_id: "00000000-0000-0000-0000-000000000001",
    visit_id: "00000000-0000-0000-0000-000000000002",
    checkpoint_id: "00000000-0000-0000-0000-000000000003",
    check_in: { method: "gps", latitude: 31.2304, longitude: 121.4737, accuracy_m: 8.5, distance_m: 3.25 },
    out_of_order: false,
  },
};
const VECTOR_1_CANONICAL = `{"author":"00000000-0000-0000-0000-0000000000a1","device":"00000000-0000-0000-0000-0000000000d1","device_time_ms":1790000000000,"id":"01890a5d-ac96-774b-bcce-b302099a8057","payload":{"check_in":{"accuracy_m":8.5,"distance_m":3.25,"latitude":31.2304,"longitude":121.4737,"method":"gps"},"checkpoint_id":"00000000-0000-0000-0000-000000000003","kind":"checkpoint_visited","out_of_order":false,"run_id":"00000000-0000-0000-0000-000000000001","visit_id":"00000000-0000-0000-0000-000000000002"},"prev_hash":"0000000000000000000000000000000000000000000000000000000000000000","seq":1}`;
const VECTOR_1_HASH = "acb06614a1cad5960cb1c71c893840f5bc98b1815b84c9000dece1bb4f6a51b3";

test("the JavaScript record hash reproduces the protocol's test vector 1", () => {
  assert.equal(canonical(VECTOR_1), VECTOR_1_CANONICAL);
  assert.equal(recordHash(VECTOR_1), VECTOR_1_HASH);
});

test("Chinese text stays UTF-8 and any field changes the hash", () => {
  assert.equal(canonical({ b: "误扫，应为2号楼", a: null }), '{"a":null,"b":"误扫，应为2号楼"}');
  assert.notEqual(recordHash({ ...VECTOR_1, seq: 2 }), VECTOR_1_HASH);
});

test("generated ids are UUIDv7", () => {
  assert.match(uuidv7(), /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
});
