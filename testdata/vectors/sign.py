# Vendor formula (Python 3): hmac.new(secret, identifier, digestmod=hashlib.sha256).hexdigest()
import hashlib, hmac, json, sys
inputs = json.load(open(sys.argv[1], encoding="utf-8"))
for s, secret in enumerate(inputs["secrets"]):
    for i, identifier in enumerate(inputs["identifiers"]):
        sig = hmac.new(secret.encode("utf-8"), bytes(identifier, encoding="utf-8"), digestmod=hashlib.sha256).hexdigest()
        print(f"{s}\t{i}\t{sig}")
