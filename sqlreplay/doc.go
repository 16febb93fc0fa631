// Package sqlreplay is a webhook.AtomicStore on the app's own SQL database:
// each Prefinery delivery's claim, the app's writes and the processed mark
// commit in one transaction, so a crash at any point neither loses nor
// doubles what the app wrote.
package sqlreplay
