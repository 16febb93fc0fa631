# Webhook formula (Python 3): hmac.new(secret, f"{t}.{body}", sha256).hexdigest()
import hashlib, hmac, json, sys
inputs = json.load(open(sys.argv[1], encoding="utf-8"))
for s, secret in enumerate(inputs["secrets"]):
    for ti, t in enumerate(inputs["timestamps"]):
        for b, body in enumerate(inputs["bodies"]):
            sig = hmac.new(secret.encode("utf-8"), f"{t}.{body}".encode("utf-8"), digestmod=hashlib.sha256).hexdigest()
            print(f"{s}\t{ti}\t{b}\t{sig}")
