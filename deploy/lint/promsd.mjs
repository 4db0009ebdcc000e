#!/usr/bin/env node
// Debian's Prometheus (and so its promtool) is built without Kubernetes service discovery:
// `promtool check config` refuses kubernetes_sd_configs as an unknown field. This checks
// those blocks and writes a copy of the configuration in which each is replaced by a
// static target, so that promtool can check everything else (globals, relabel rules, the
// other jobs).
//
//   node deploy/lint/promsd.mjs prometheus.yml OUT.yml
//
// Checked here: each kubernetes_sd_configs entry's keys (Prometheus's documented ones),
// its role, namespaces.names as a list of names, and that every __meta_kubernetes_* label
// the job's relabel_configs name exists for that role. Exit 1 with one line per problem.
import { readFileSync, writeFileSync } from "node:fs";
import { parseDocument, stringify } from "yaml";

const sdKeys = new Set([
  "api_server", "role", "kubeconfig_file", "namespaces", "selectors", "attach_metadata",
  // the HTTP client settings every SD takes
  "basic_auth", "authorization", "oauth2", "bearer_token", "bearer_token_file", "tls_config",
  "proxy_url", "no_proxy", "proxy_from_environment", "proxy_connect_header",
  "follow_redirects", "enable_http2",
]);
const roles = new Set(["node", "service", "pod", "endpoints", "endpointslice", "ingress"]);

// The meta labels of each role (Prometheus's kubernetes_sd_config documentation); a name
// ending in _ is a prefix (…_label_<name>).
const common = ["__meta_kubernetes_namespace", "__meta_kubernetes_namespace_label_",
  "__meta_kubernetes_namespace_labelpresent_", "__meta_kubernetes_namespace_annotation_",
  "__meta_kubernetes_namespace_annotationpresent_"];
const podLabels = ["__meta_kubernetes_pod_name", "__meta_kubernetes_pod_ip",
  "__meta_kubernetes_pod_label_", "__meta_kubernetes_pod_labelpresent_",
  "__meta_kubernetes_pod_annotation_", "__meta_kubernetes_pod_annotationpresent_",
  "__meta_kubernetes_pod_container_init", "__meta_kubernetes_pod_container_name",
  "__meta_kubernetes_pod_container_id", "__meta_kubernetes_pod_container_image",
  "__meta_kubernetes_pod_container_port_name", "__meta_kubernetes_pod_container_port_number",
  "__meta_kubernetes_pod_container_port_protocol", "__meta_kubernetes_pod_ready",
  "__meta_kubernetes_pod_phase", "__meta_kubernetes_pod_node_name",
  "__meta_kubernetes_pod_host_ip", "__meta_kubernetes_pod_uid",
  "__meta_kubernetes_pod_controller_kind", "__meta_kubernetes_pod_controller_name"];
const serviceLabels = ["__meta_kubernetes_service_annotation_",
  "__meta_kubernetes_service_annotationpresent_", "__meta_kubernetes_service_cluster_ip",
  "__meta_kubernetes_service_loadbalancer_ip", "__meta_kubernetes_service_external_name",
  "__meta_kubernetes_service_label_", "__meta_kubernetes_service_labelpresent_",
  "__meta_kubernetes_service_name", "__meta_kubernetes_service_port_name",
  "__meta_kubernetes_service_port_number", "__meta_kubernetes_service_port_protocol",
  "__meta_kubernetes_service_type"];
const nodeLabels = ["__meta_kubernetes_node_name", "__meta_kubernetes_node_provider_id",
  "__meta_kubernetes_node_label_", "__meta_kubernetes_node_labelpresent_",
  "__meta_kubernetes_node_annotation_", "__meta_kubernetes_node_annotationpresent_",
  "__meta_kubernetes_node_address_"];
const endpointsLabels = ["__meta_kubernetes_endpoints_name", "__meta_kubernetes_endpoints_label_",
  "__meta_kubernetes_endpoints_labelpresent_", "__meta_kubernetes_endpoints_annotation_",
  "__meta_kubernetes_endpoints_annotationpresent_", "__meta_kubernetes_endpoint_hostname",
  "__meta_kubernetes_endpoint_node_name", "__meta_kubernetes_endpoint_ready",
  "__meta_kubernetes_endpoint_port_name", "__meta_kubernetes_endpoint_port_protocol",
  "__meta_kubernetes_endpoint_address_target_kind", "__meta_kubernetes_endpoint_address_target_name"];
const sliceLabels = ["__meta_kubernetes_endpointslice_name", "__meta_kubernetes_endpointslice_label_",
  "__meta_kubernetes_endpointslice_labelpresent_", "__meta_kubernetes_endpointslice_annotation_",
  "__meta_kubernetes_endpointslice_annotationpresent_",
  "__meta_kubernetes_endpointslice_address_target_kind",
  "__meta_kubernetes_endpointslice_address_target_name", "__meta_kubernetes_endpointslice_address_type",
  "__meta_kubernetes_endpointslice_endpoint_conditions_ready",
  "__meta_kubernetes_endpointslice_endpoint_conditions_serving",
  "__meta_kubernetes_endpointslice_endpoint_conditions_terminating",
  "__meta_kubernetes_endpointslice_endpoint_topology_kubernetes_io_hostname",
  "__meta_kubernetes_endpointslice_endpoint_topology_present_kubernetes_io_hostname",
  "__meta_kubernetes_endpointslice_endpoint_hostname", "__meta_kubernetes_endpointslice_endpoint_node_name",
  "__meta_kubernetes_endpointslice_endpoint_zone",
  "__meta_kubernetes_endpointslice_port", "__meta_kubernetes_endpointslice_port_name",
  "__meta_kubernetes_endpointslice_port_protocol", "__meta_kubernetes_endpointslice_port_app_protocol"];
const ingressLabels = ["__meta_kubernetes_ingress_name", "__meta_kubernetes_ingress_label_",
  "__meta_kubernetes_ingress_labelpresent_", "__meta_kubernetes_ingress_annotation_",
  "__meta_kubernetes_ingress_annotationpresent_", "__meta_kubernetes_ingress_class_name",
  "__meta_kubernetes_ingress_scheme", "__meta_kubernetes_ingress_path"];
// endpoints and endpointslice targets carry their service's and pod's labels too, and
// attach_metadata: {node: true} adds the node's to pod, endpoints and endpointslice.
const metaLabels = {
  node: nodeLabels,
  service: [...common, ...serviceLabels],
  pod: [...common, ...podLabels, ...nodeLabels],
  endpoints: [...common, ...endpointsLabels, ...serviceLabels, ...podLabels, ...nodeLabels],
  endpointslice: [...common, ...sliceLabels, ...serviceLabels, ...podLabels, ...nodeLabels],
  ingress: [...common, ...ingressLabels],
};

function known(label, role) {
  return metaLabels[role].some((m) => (m.endsWith("_") ? label.startsWith(m) && label.length > m.length : label === m));
}

const [input, output] = process.argv.slice(2);
if (!input || !output) {
  console.error("usage: node deploy/lint/promsd.mjs prometheus.yml OUT.yml");
  process.exit(2);
}
const doc = parseDocument(readFileSync(input, "utf8"), { uniqueKeys: true });
if (doc.errors.length) {
  console.error(`${input}: invalid YAML: ${doc.errors[0].message.split("\n")[0]}`);
  process.exit(1);
}
const config = doc.toJS() ?? {};
const problems = [];
let sdBlocks = 0;
(config.scrape_configs ?? []).forEach((job, j) => {
  const where = `${input}: scrape_configs[${j}] (${job?.job_name ?? "?"})`;
  const sds = job?.kubernetes_sd_configs;
  if (sds === undefined) return;
  if (!Array.isArray(sds)) {
    problems.push(`${where}: kubernetes_sd_configs: expected a list`);
    return;
  }
  const jobRoles = new Set();
  sds.forEach((sd, i) => {
    sdBlocks++;
    const at = `${where}: kubernetes_sd_configs[${i}]`;
    if (!sd || typeof sd !== "object" || Array.isArray(sd)) {
      problems.push(`${at}: expected a map`);
      return;
    }
    for (const k of Object.keys(sd)) if (!sdKeys.has(k)) problems.push(`${at}: unknown field "${k}"`);
    if (!roles.has(sd.role)) problems.push(`${at}: role must be one of ${[...roles].join(", ")}, got ${JSON.stringify(sd.role)}`);
    else jobRoles.add(sd.role);
    const ns = sd.namespaces;
    if (ns !== undefined) {
      for (const k of Object.keys(ns ?? {}))
        if (!["names", "own_namespace"].includes(k)) problems.push(`${at}: namespaces: unknown field "${k}"`);
      if (ns?.names !== undefined && !(Array.isArray(ns.names) && ns.names.every((n) => typeof n === "string" && n)))
        problems.push(`${at}: namespaces.names: expected a list of namespace names`);
    }
  });
  (jobRoles.size ? job.relabel_configs ?? [] : []).forEach((r, i) => {
    for (const label of [...(r?.source_labels ?? []), r?.target_label].filter(Boolean)) {
      if (!String(label).startsWith("__meta_kubernetes_")) continue;
      if (![...jobRoles].some((role) => known(label, role)))
        problems.push(`${where}: relabel_configs[${i}]: ${label} is not a meta label of role ${[...jobRoles].join(", ")}`);
    }
  });
  // For promtool: the same job with a static target in place of the discovery.
  delete job.kubernetes_sd_configs;
  job.static_configs = [...(job.static_configs ?? []), { targets: ["kubernetes-sd.invalid:9437"] }];
});
for (const p of problems) console.error(p);
if (problems.length) process.exit(1);
writeFileSync(output, stringify(config));
console.log(`promsd.mjs: ${sdBlocks} kubernetes_sd_configs checked; ${output} has static targets in their place`);
