// Package kubesecrets reads the Secrets a gateway needs from the API server: the instance's access keys,
// applied to an auth.KeySet whenever the Secret changes (Keys), and the `code` values of event handlers
// with a codeSecretRef, resolved on demand (Resolver).
//
// Every Secret is watched on its own, by a metadata.name field selector: that is what a Role restricted
// to the Secret's name with resourceNames authorizes (get, list and watch), so the gateway needs no
// access to any other Secret of the namespace. A watch keeps a local copy, so reading a value costs no
// API call, and an edit reaches the gateway within moments.
//
// Secret values never appear in logs or errors. All types are safe for concurrent use.
package kubesecrets
