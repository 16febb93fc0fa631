<?php
// Vendor formula (PHP): hash_hmac('sha256', identifier, secret)
$inputs = json_decode(file_get_contents($argv[1]), true);
foreach ($inputs['secrets'] as $s => $secret) {
  foreach ($inputs['identifiers'] as $i => $identifier) {
    echo $s, "\t", $i, "\t", hash_hmac('sha256', $identifier, $secret), "\n";
  }
}
