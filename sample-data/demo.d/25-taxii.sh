# TAXII 2.1: RU-CERT's own platform (a medallion on loopback, started here) gets what arrived from US, and
# what RU's analysts put into the platform comes into the signed store; then RU serves its store read-only.
step "RU-CERT's platform: a TAXII 2.1 server (medallion) on 127.0.0.1"
TAXII_DIR="$OUT/25-taxii"
mkdir -p "$TAXII_DIR"
TAXII_PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
COLLECTION=365fed99-08fa-fdcd-a1b3-fb247eb41d01
python3 - "$TAXII_DIR" "$TAXII_PORT" "$COLLECTION" <<'PY'
import json, sys
folder, port, collection = sys.argv[1], sys.argv[2], sys.argv[3]
root = f"http://127.0.0.1:{port}/api1/"
json.dump({"/discovery": {"title": "RU-CERT platform", "default": root, "api_roots": [root]},
           "api1": {"information": {"title": "RU-CERT", "versions": ["application/taxii+json;version=2.1"],
                                    "max_content_length": 100000},
                    "status": [], "collections": [{"id": collection, "title": "shared", "can_read": True,
                                                   "can_write": True, "media_types": [], "objects": [],
                                                   "manifest": []}]}},
          open(f"{folder}/data.json", "w"))
json.dump({"backend": {"module": "medallion.backends.memory_backend", "module_class": "MemoryBackend",
                       "filename": f"{folder}/data.json"},
           "users": {"cbm": "platform-secret"}, "taxii": {"max_page_size": 50}}, open(f"{folder}/config.json", "w"))
PY
python3 -c "from medallion.scripts.run import main; main()" --host 127.0.0.1 --port "$TAXII_PORT" \
  "$TAXII_DIR/config.json" >"$TAXII_DIR/medallion.log" 2>&1 &
MEDALLION_PID=$!
trap 'kill "$MEDALLION_PID" 2>/dev/null || true' EXIT
for _ in $(seq 50); do python3 -c "import socket; socket.create_connection(('127.0.0.1', $TAXII_PORT))" \
  2>/dev/null && break; sleep 0.1; done
printf 'platform-secret\n' > "$TAXII_DIR/password"
show ru taxii add platform "http://127.0.0.1:$TAXII_PORT/taxii2/" --api-root /api1/ --collection "$COLLECTION" \
  --user cbm --password-file "$TAXII_DIR/password"

step "RU pushes what US sent (up to AMBER) into its platform; a second push sends nothing twice"
show ru indicators push platform --from US --tlp-max AMBER
show ru indicators push platform --from US --tlp-max AMBER

step "an RU analyst adds an indicator in the platform; RU pulls only what is new into the signed store"
python3 - "$TAXII_PORT" "$COLLECTION" <<'PY'
import base64, json, sys, urllib.request
port, collection = sys.argv[1], sys.argv[2]
obj = {"type": "indicator", "spec_version": "2.1", "id": "indicator--7d8e4f1a-2b3c-4d5e-8f90-a1b2c3d4e5f6",
       "created": "2026-11-25T09:00:00.000Z", "modified": "2026-11-25T09:00:00.000Z", "name": "phishing domain",
       "pattern": "[domain-name:value = 'login-update.example']", "pattern_type": "stix",
       "valid_from": "2026-11-25T09:00:00Z",
       "object_marking_refs": ["marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb"]}
request = urllib.request.Request(f"http://127.0.0.1:{port}/api1/collections/{collection}/objects/",
                                 data=json.dumps({"objects": [obj]}).encode(), method="POST", headers={
    "Content-Type": "application/taxii+json;version=2.1", "Accept": "application/taxii+json;version=2.1",
    "Authorization": "Basic " + base64.b64encode(b"cbm:platform-secret").decode()})
urllib.request.urlopen(request).read()
PY
show ru indicators pull platform
show ru indicators pull platform
show ru taxii list

step "RU serves its store read-only over TAXII 2.1 (GREEN and below); taxii2-client reads it"
printf 'opencti-demo-password\n' > "$TAXII_DIR/opencti.pw"
show ru taxii user add opencti --password-file "$TAXII_DIR/opencti.pw"
SERVE_PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
ru taxii serve --bind "127.0.0.1:$SERVE_PORT" > "$TAXII_DIR/serve.url" 2>"$TAXII_DIR/serve.log" &
SERVE_PID=$!
trap 'kill "$MEDALLION_PID" "$SERVE_PID" 2>/dev/null || true' EXIT
for _ in $(seq 50); do [ -s "$TAXII_DIR/serve.url" ] && break; sleep 0.1; done
python3 - "$(cat "$TAXII_DIR/serve.url")" <<'PY'
import sys
from taxii2client.v21 import Server, as_pages
server = Server(sys.argv[1], user="opencti", password="opencti-demo-password")
for collection in server.api_roots[0].collections:
    n = sum(len(page.get("objects", [])) for page in as_pages(collection.get_objects, per_request=100))
    print(f"taxii2-client: {collection.title}: {n} indicator(s)")
PY
kill "$SERVE_PID" "$MEDALLION_PID" 2>/dev/null || true
wait "$SERVE_PID" "$MEDALLION_PID" 2>/dev/null || true
trap - EXIT
