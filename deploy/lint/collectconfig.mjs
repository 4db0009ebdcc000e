#!/usr/bin/env node
// The collector's configuration as the deployment files carry it, and the numbers that must
// agree between them:
//
//   node deploy/lint/collectconfig.mjs manifest deploy/kubernetes/kscope.yaml OUT.yaml
//     writes the ConfigMap's collect.yaml to OUT.yaml (for kscope collect --check-config) and
//     checks that the DaemonSet runs `collect -c` on that file, that its port "metrics", its
//     prometheus.io/port annotation and the config's listen port are one port, and that its
//     memory limit holds limits.memory + limits.bpf_memory.
//   node deploy/lint/collectconfig.mjs unit deploy/systemd/kscope.service deploy/systemd/collect.yaml
//     checks that the unit's MemoryMax holds the file's limits.memory + limits.bpf_memory.
//
// Exit 1 with one line per problem.
import { readFileSync, writeFileSync } from "node:fs";
import { parseAllDocuments, parse } from "yaml";

const problems = [];
const MiB = 1024 * 1024;

// limits.memory / limits.bpf_memory: one integer and KiB, MiB or GiB (docs/config.md).
function configSize(text, fallback) {
  if (text === undefined) return fallback;
  const m = /^(\d+)(KiB|MiB|GiB)$/.exec(String(text));
  if (!m) return NaN;
  return Number(m[1]) * { KiB: 1024, MiB, GiB: 1024 * MiB }[m[2]];
}

// A Kubernetes quantity (256Mi, 1Gi, 268435456, 300M) in bytes.
function quantity(text) {
  const m = /^(\d+(?:\.\d+)?)(Ki|Mi|Gi|Ti|k|M|G|T)?$/.exec(String(text));
  if (!m) return NaN;
  const unit = { Ki: 1024, Mi: MiB, Gi: 1024 * MiB, Ti: 1024 * 1024 * MiB, k: 1e3, M: 1e6, G: 1e9,
                 T: 1e12 }[m[2]] ?? 1;
  return Number(m[1]) * unit;
}

// systemd's MemoryMax=: bytes with K, M, G or T (base 1024).
function systemdSize(text) {
  const m = /^(\d+)([KMGT])?$/.exec(String(text));
  if (!m) return NaN;
  return Number(m[1]) * ({ K: 1024, M: MiB, G: 1024 * MiB, T: 1024 * 1024 * MiB }[m[2]] ?? 1);
}

function budget(config, where) {
  const memory = configSize(config?.limits?.memory, 128 * MiB);
  const bpf = configSize(config?.limits?.bpf_memory, 256 * MiB);
  if (Number.isNaN(memory) || Number.isNaN(bpf)) {
    problems.push(`${where}: limits.memory or limits.bpf_memory is not a size`);
    return NaN;
  }
  if (config?.limits?.memory === undefined || config?.limits?.bpf_memory === undefined)
    problems.push(`${where}: state limits.memory and limits.bpf_memory: the memory limit is derived from them`);
  return memory + bpf;
}

const mib = (n) => `${Math.round(n / MiB)} MiB`;

function manifest(file, out) {
  const docs = parseAllDocuments(readFileSync(file, "utf8")).map((d) => d.toJS()).filter(Boolean);
  const ds = docs.find((d) => d.kind === "DaemonSet");
  if (!ds) return problems.push(`${file}: no DaemonSet`);
  const pod = ds.spec?.template?.spec ?? {};
  const c = pod.containers?.[0] ?? {};
  const args = [...(c.command ?? []), ...(c.args ?? [])];
  const at = args.indexOf("-c");
  if (args[0] !== "collect" && !args.includes("collect")) problems.push(`${file}: the container does not run "collect"`);
  if (at < 0 || !args[at + 1]) return problems.push(`${file}: the container runs collect without -c FILE`);
  const path = args[at + 1];
  // The file must come from a ConfigMap volume mounted at its directory.
  const mount = (c.volumeMounts ?? []).find((m) => path.startsWith(`${m.mountPath.replace(/\/$/, "")}/`));
  const volume = mount && (pod.volumes ?? []).find((v) => v.name === mount.name);
  const cmName = volume?.configMap?.name;
  const cm = docs.find((d) => d.kind === "ConfigMap" && d.metadata?.name === cmName);
  const key = mount && path.slice(mount.mountPath.replace(/\/$/, "").length + 1);
  const text = cm?.data?.[key];
  if (typeof text !== "string")
    return problems.push(`${file}: -c ${path} is not a key of a ConfigMap mounted at its directory`);
  writeFileSync(out, text);

  const config = parse(text) ?? {};
  const listen = String(config.listen ?? "127.0.0.1:9437");
  const listenPort = Number(listen.slice(listen.lastIndexOf(":") + 1));
  if (listen.startsWith("127.") || listen.startsWith("[::1]"))
    problems.push(`${file}: collect.yaml listens on loopback (${listen}): Prometheus cannot scrape it`);
  const port = (c.ports ?? []).find((p) => p.name === "metrics");
  if (port?.containerPort !== listenPort)
    problems.push(`${file}: container port "metrics" is ${port?.containerPort}, collect.yaml listens on ${listenPort}`);
  const annotated = ds.spec?.template?.metadata?.annotations?.["prometheus.io/port"];
  if (annotated !== undefined && Number(annotated) !== listenPort)
    problems.push(`${file}: prometheus.io/port is ${annotated}, collect.yaml listens on ${listenPort}`);
  const need = budget(config, `${file}: collect.yaml`);
  const limit = quantity(c.resources?.limits?.memory);
  if (Number.isNaN(limit))
    problems.push(`${file}: the container has no memory limit`);
  else if (limit < need)
    problems.push(`${file}: memory limit ${mib(limit)} is below limits.memory + limits.bpf_memory (${mib(need)})`);
}

function unit(file, configFile) {
  const text = readFileSync(file, "utf8");
  const m = /^MemoryMax=(\S+)$/m.exec(text);
  const need = budget(parse(readFileSync(configFile, "utf8")) ?? {}, configFile);
  const max = m ? systemdSize(m[1]) : NaN;
  if (Number.isNaN(max)) problems.push(`${file}: no MemoryMax= in bytes, K, M, G or T`);
  else if (max < need)
    problems.push(`${file}: MemoryMax ${mib(max)} is below limits.memory + limits.bpf_memory of ${configFile} (${mib(need)})`);
}

const [mode, a, b] = process.argv.slice(2);
if (mode === "manifest" && a && b) manifest(a, b);
else if (mode === "unit" && a && b) unit(a, b);
else {
  console.error("usage: collectconfig.mjs manifest MANIFEST OUT.yaml | unit UNIT COLLECT_YAML");
  process.exit(2);
}
for (const p of problems) console.error(p);
process.exit(problems.length ? 1 : 0);
