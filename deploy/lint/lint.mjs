#!/usr/bin/env node
// Validates Kubernetes manifests against the OpenAPI schemas that the npm packages
// kubernetes-models (the API server's own types) and @kubernetes-models/prometheus-operator
// (its CRDs: ServiceMonitor, ...) compile into JSON schema validators.
//
//   node deploy/lint/lint.mjs FILE...
//
// Every YAML document of every file is parsed, its model class picked by apiVersion and
// kind, and validated. Exit 0 when all are valid; else 1, one line per problem:
//   FILE: document N (Kind/name): what is wrong
// A document whose apiVersion/kind no package models is an error, not a skip. Empty
// documents (a trailing ---) are ignored.
//
// What is caught: wrong types (hostNetwork: "yes", a containerPort written as a string),
// missing required fields (a container without a name), values outside an enum or a format
// (imagePullPolicy: Sometimes, memory: 256MB!), duplicate keys; unknown or misspelt field
// names (hostNetwrok), which the schemas allow: fields.mjs reads the field names from the
// packages' TypeScript declarations; and, in crossChecks(), some of what the API server
// checks in code (a selector that does not match its template's labels, port names, volume
// names) and the references between the files given together (Service -> pods' port names,
// ServiceMonitor -> Service port names). What is not: the rest of the API server's code
// checks, admission (Pod Security), and whether a hostPath, image or priority class exists.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { parseAllDocuments } from "yaml";
import { unknownFields } from "./fields.mjs";

const require = createRequire(import.meta.url);

// apiVersion and kind -> { cls, moduleName }: the model class and the module holding it.
function modelClass(apiVersion, kind) {
  if (typeof apiVersion !== "string" || typeof kind !== "string") return null;
  const [group, version] = apiVersion.includes("/") ? apiVersion.split("/") : ["", apiVersion];
  if (!version || !/^v\d+((alpha|beta)\d+)?$/.test(version) || !/^[A-Za-z]+$/.test(kind)) return null;
  const candidates = group === ""
    ? ["kubernetes-models/v1"]
    : [`kubernetes-models/${group}/${version}`,
       `@kubernetes-models/prometheus-operator/${group}/${version}`];
  for (const moduleName of candidates) {
    let mod;
    try {
      mod = require(moduleName);
    } catch (e) {
      if (e.code === "MODULE_NOT_FOUND" || e.code === "ERR_PACKAGE_PATH_NOT_EXPORTED") continue;
      throw e;
    }
    const cls = Object.hasOwn(mod, kind) ? mod[kind] : null;
    // Only a top-level kind has apiVersion and kind of its own (not e.g. "Container").
    if (cls && cls.apiVersion === apiVersion && cls.kind === kind) return { cls, moduleName };
  }
  return null;
}

// Some of what the API server checks in code, not in the schema, and the references between
// the objects of the files given together. Each returns problems as "data/...: message".
const workloadKinds = ["DaemonSet", "Deployment", "StatefulSet", "ReplicaSet", "Job"];
const portName = /^(?=.{1,15}$)(?=.*[a-z])[a-z0-9]+(-[a-z0-9]+)*$/;  // IANA_SVC_NAME

function podChecks(pod, path) {
  const out = [];
  const volumes = new Set();
  (pod.volumes ?? []).forEach((v, i) => {
    if (volumes.has(v?.name)) out.push(`${path}/volumes/${i}/name: "${v.name}" is used twice`);
    volumes.add(v?.name);
  });
  (pod.containers ?? []).forEach((c, i) => {
    const cp = `${path}/containers/${i}`;
    const ports = new Set();
    (c?.ports ?? []).forEach((port, j) => {
      if (port?.name === undefined) return;
      if (!portName.test(port.name))
        out.push(`${cp}/ports/${j}/name: "${port.name}" is not a port name (at most 15 of a-z, 0-9, -)`);
      if (ports.has(port.name)) out.push(`${cp}/ports/${j}/name: "${port.name}" is used twice`);
      ports.add(port.name);
    });
    (c?.volumeMounts ?? []).forEach((m, j) => {
      if (!volumes.has(m?.name)) out.push(`${cp}/volumeMounts/${j}/name: no volume "${m?.name}"`);
    });
    for (const probe of ["livenessProbe", "readinessProbe", "startupProbe"]) {
      const port = c?.[probe]?.httpGet?.port ?? c?.[probe]?.tcpSocket?.port;
      if (typeof port === "string" && !ports.has(port))
        out.push(`${cp}/${probe}: port "${port}" is not a port name of this container`);
    }
  });
  return out;
}

function matches(selector, labels) {
  return Object.entries(selector ?? {}).every(([k, v]) => labels?.[k] === v);
}

function crossChecks(objects) {
  const out = [];  // [where, message]
  const pods = [];  // { ns, labels, portNames }
  for (const { obj, where } of objects) {
    if (!workloadKinds.includes(obj.kind)) continue;
    const tmpl = obj.spec?.template;
    const sel = obj.spec?.selector?.matchLabels;
    if (sel && !matches(sel, tmpl?.metadata?.labels))
      out.push([where, "data/spec/selector/matchLabels: does not match data/spec/template/metadata/labels"]);
    for (const p of podChecks(tmpl?.spec ?? {}, "data/spec/template/spec")) out.push([where, p]);
    pods.push({
      ns: obj.metadata?.namespace, labels: tmpl?.metadata?.labels ?? {},
      ports: new Set((tmpl?.spec?.containers ?? []).flatMap((c) => (c?.ports ?? []).map((q) => q?.name))),
    });
  }
  const services = [];
  for (const { obj, where } of objects) {
    if (obj.kind !== "Service" || !obj.spec?.selector) continue;
    const ns = obj.metadata?.namespace;
    const selected = pods.filter((p) => p.ns === ns && matches(obj.spec.selector, p.labels));
    if (selected.length === 0 && pods.length > 0)
      out.push([where, "data/spec/selector: selects no pod template of these files"]);
    (obj.spec.ports ?? []).forEach((port, i) => {
      if (typeof port?.targetPort === "string" && selected.length &&
          !selected.some((p) => p.ports.has(port.targetPort)))
        out.push([where, `data/spec/ports/${i}/targetPort: no container port named "${port.targetPort}"`]);
    });
    services.push({ ns, labels: obj.metadata?.labels ?? {}, ports: new Set((obj.spec.ports ?? []).map((q) => q?.name)) });
  }
  for (const { obj, where } of objects) {
    if (obj.kind !== "ServiceMonitor") continue;
    const names = obj.spec?.namespaceSelector?.matchNames ?? [obj.metadata?.namespace];
    const selected = services.filter((s) => names.includes(s.ns) &&
                                            matches(obj.spec?.selector?.matchLabels, s.labels));
    if (selected.length === 0 && services.length > 0)
      out.push([where, "data/spec/selector: selects no Service of these files"]);
    (obj.spec?.endpoints ?? []).forEach((e, i) => {
      if (e?.port !== undefined && selected.length && !selected.some((s) => s.ports.has(e.port)))
        out.push([where, `data/spec/endpoints/${i}/port: no Service port named "${e.port}"`]);
    });
  }
  return out;
}

function lintFile(file, problems, objects) {
  let text;
  try {
    text = readFileSync(file, "utf8");
  } catch (e) {
    problems.push(`${file}: cannot read: ${e.message}`);
    return 0;
  }
  let checked = 0;
  parseAllDocuments(text, { uniqueKeys: true }).forEach((doc, index) => {
    const where = `${file}: document ${index + 1}`;
    if (doc.errors.length) {
      for (const e of doc.errors) problems.push(`${where}: invalid YAML: ${e.message.split("\n")[0].replace(/:$/, "")}`);
      return;
    }
    const obj = doc.toJS();
    if (obj === null || obj === undefined) return;  // an empty document
    if (typeof obj !== "object" || Array.isArray(obj)) {
      problems.push(`${where}: expected a Kubernetes object (a map), got ${Array.isArray(obj) ? "a list" : typeof obj}`);
      return;
    }
    const name = `${obj.kind ?? "?"}/${obj.metadata?.name ?? "?"}`;
    const model = modelClass(obj.apiVersion, obj.kind);
    if (!model) {
      problems.push(`${where} (${name}): unknown apiVersion/kind ${obj.apiVersion}/${obj.kind}: ` +
                    "no model in kubernetes-models or @kubernetes-models/prometheus-operator");
      return;
    }
    try {
      new model.cls(obj).validate();
    } catch (e) {
      problems.push(`${where} (${name}): schema: ${e.message}`);
    }
    for (const u of unknownFields(obj, model.moduleName, obj.kind)) problems.push(`${where} (${name}): ${u}`);
    objects.push({ obj, where: `${where} (${name})` });
    checked++;
  });
  return checked;
}

const files = process.argv.slice(2);
if (files.length === 0) {
  console.error("usage: node deploy/lint/lint.mjs FILE...");
  process.exit(2);
}
const problems = [];
const objects = [];
for (const f of files) lintFile(f, problems, objects);
for (const [where, p] of crossChecks(objects)) problems.push(`${where}: ${p}`);
for (const p of problems) console.error(p);
if (problems.length) process.exit(1);
console.log(`lint.mjs: ${objects.length} objects in ${files.length} files valid`);
