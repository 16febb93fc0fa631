<?php
// Webhook formula (PHP): hash_hmac("sha256", $t . "." . $body, $secret)
$inputs = json_decode(file_get_contents($argv[1]), true);
foreach ($inputs["secrets"] as $s => $secret) {
  foreach ($inputs["timestamps"] as $ti => $t) {
    foreach ($inputs["bodies"] as $b => $body) {
      echo $s, "\t", $ti, "\t", $b, "\t", hash_hmac("sha256", $t . "." . $body, $secret), "\n";
    }
  }
}
