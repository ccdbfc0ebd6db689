// Hub manifests as users write them for `kwps serve -f` and `kubectl apply -f`.

/**
 * Returns the YAML of a webpubsub.kwps.io/v1alpha1 Hub.
 * @param {string} name the hub name (metadata.name)
 * @param {object} [spec]
 * @param {{urlTemplate: string, userEventPattern?: string, systemEvents?: string[]}[]} [spec.eventHandlers]
 * @param {"Allow" | "Deny"} [spec.anonymousConnectPolicy]
 */
export function hubManifest(name, { eventHandlers = [], anonymousConnectPolicy = "Deny" } = {}) {
  const lines = [
    "apiVersion: webpubsub.kwps.io/v1alpha1",
    "kind: Hub",
    "metadata:",
    `  name: ${name}`,
    "spec:",
    "  webPubSubRef:",
    "    name: compat",
    `  anonymousConnectPolicy: ${anonymousConnectPolicy}`,
  ];
  if (eventHandlers.length > 0) {
    lines.push("  eventHandlers:");
    for (const h of eventHandlers) {
      lines.push(`  - urlTemplate: ${JSON.stringify(h.urlTemplate)}`);
      if (h.userEventPattern !== undefined) lines.push(`    userEventPattern: ${JSON.stringify(h.userEventPattern)}`);
      if (h.systemEvents?.length) lines.push(`    systemEvents: [${h.systemEvents.join(", ")}]`);
    }
  }
  return lines.join("\n") + "\n";
}
