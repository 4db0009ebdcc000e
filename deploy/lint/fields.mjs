// Unknown-field check for lint.mjs. The JSON schema validators of kubernetes-models allow
// additional properties, so a misspelt field (hostNetwrok: true) passes them, while the API
// server's strict field validation refuses it. The packages' TypeScript declarations (.d.ts),
// generated from the same OpenAPI schemas, list every field of every type; this reads them
// and walks an object along its type, naming each key its type does not declare.
//
// The declarations are generated and regular: `export interface IName { "field"?: Type; }`,
// where Type is a named type imported from another .d.ts, Array<Type>, an inline object
// `{ "field": Type; }` (the CRDs), a map `{ [key: string]: Type; }`, a union, or a
// primitive. This is a parser for that subset, not for TypeScript.
import { readFileSync, existsSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";

const require = createRequire(import.meta.url);

function tokenize(text) {
  const src = text.replace(/\/\*[\s\S]*?\*\//g, " ").replace(/\/\/[^\n]*/g, " ");
  const re = /\s*("(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|[A-Za-z_$][\w$]*|-?\d+(?:\.\d+)?|\S)/gy;
  const tokens = [];
  let m;
  while (re.lastIndex < src.length && (m = re.exec(src))) tokens.push(m[1]);
  return tokens;
}

class Parser {
  constructor(tokens) {
    this.t = tokens;
    this.i = 0;
  }
  peek(k = 0) { return this.t[this.i + k]; }
  next() { return this.t[this.i++]; }
  expect(tok) {
    const got = this.next();
    if (got !== tok) throw new Error(`expected ${tok}, got ${got}`);
  }
  // type := primary ('|' primary)*
  type() {
    if (this.peek() === "|") this.next();
    const of = [this.postfix()];
    while (this.peek() === "|") {
      this.next();
      of.push(this.postfix());
    }
    return of.length === 1 ? of[0] : { kind: "union", of };
  }
  postfix() {
    let t = this.primary();
    while (this.peek() === "[" && this.peek(1) === "]") {
      this.next();
      this.next();
      t = { kind: "array", of: t };
    }
    return t;
  }
  primary() {
    const tok = this.next();
    if (tok === "{") return this.members();
    if (tok === "(") {
      const t = this.type();
      this.expect(")");
      return t;
    }
    if (tok === "Array" && this.peek() === "<") {
      this.next();
      const of = this.type();
      this.expect(">");
      return { kind: "array", of };
    }
    if (/^["'\d-]/.test(tok)) return { kind: "prim" };
    if (/^[A-Za-z_$]/.test(tok)) {
      // IFoo["apiVersion"] and generic arguments carry no fields of their own.
      if (this.peek() === "[") {
        while (this.next() !== "]");
        return { kind: "prim" };
      }
      if (this.peek() === "<") {
        let depth = 0;
        do {
          const x = this.next();
          if (x === "<") depth++;
          if (x === ">") depth--;
        } while (depth > 0);
        return { kind: "prim" };
      }
      if (["string", "number", "boolean", "any", "unknown", "null", "undefined", "object",
           "true", "false", "never"].includes(tok)) return { kind: "prim" };
      return { kind: "ref", name: tok };
    }
    throw new Error(`unexpected token ${tok}`);
  }
  // After "{": fields, an index signature, until "}".
  members() {
    const props = new Map();
    let index = null;
    while (this.peek() !== "}") {
      if (this.peek() === "[") {
        while (this.next() !== "]");
        this.expect(":");
        index = this.type();
      } else {
        let name = this.next();
        if (/^["']/.test(name)) name = JSON.parse(name.startsWith("'") ? `"${name.slice(1, -1)}"` : name);
        if (this.peek() === "?") this.next();
        this.expect(":");
        props.set(name, this.type());
      }
      if (this.peek() === ";" || this.peek() === ",") this.next();
    }
    this.next();
    return { kind: "object", props, index };
  }
}

// One .d.ts file: its imports, its local aliases (export { A as B }), its interfaces and
// type aliases, parsed when first asked for.
const files = new Map();

function loadFile(path) {
  if (files.has(path)) return files.get(path);
  const text = readFileSync(path, "utf8");
  const f = { path, imports: new Map(), aliases: new Map(), decls: new Map(), types: new Map() };
  for (const m of text.matchAll(/import\s*\{([^}]*)\}\s*from\s*"([^"]+)"/g))
    for (const part of m[1].split(",").map((s) => s.trim()).filter(Boolean)) {
      const [orig, local] = part.split(/\s+as\s+/);
      f.imports.set((local ?? orig).trim(), { name: orig.trim(), from: m[2] });
    }
  for (const m of text.matchAll(/export\s*\{([^}]*)\}/g))
    for (const part of m[1].split(",").map((s) => s.trim()).filter(Boolean)) {
      const [orig, exported] = part.split(/\s+as\s+/);
      if (exported) f.aliases.set(exported.trim(), orig.trim());
    }
  const tokens = tokenize(text);
  for (let i = 0; i < tokens.length; i++) {
    if (tokens[i] === "interface") {
      const name = tokens[i + 1];
      let j = i + 2;
      const bases = [];
      if (tokens[j] === "extends") {
        j++;
        while (tokens[j] !== "{") {
          if (/^[A-Za-z_$]/.test(tokens[j])) bases.push(tokens[j]);
          j++;
        }
      }
      f.decls.set(name, { tokens, start: j, bases });
    } else if (tokens[i] === "type" && tokens[i + 2] === "=" && /^[A-Za-z_$]/.test(tokens[i + 1])) {
      f.decls.set(tokens[i + 1], { tokens, start: i + 3, alias: true });
    }
  }
  files.set(path, f);
  return f;
}

function resolveModule(fromFile, spec) {
  if (spec.startsWith(".")) return join(dirname(fromFile), `${spec}.d.ts`);
  try {
    const js = require.resolve(spec);
    const dts = js.replace(/\.(c|m)?js$/, ".d.ts");
    return existsSync(dts) ? dts : null;
  } catch {
    return null;
  }
}

// The parsed type `name` as seen from file `path`; null when it cannot be found (then the
// value is not checked: better silent than wrong).
function typeNamed(path, name, depth = 0) {
  if (depth > 8) return null;
  const f = loadFile(path);
  if (f.types.has(name)) return f.types.get(name);
  let t = null;
  const local = f.aliases.get(name) ?? name;
  const decl = f.decls.get(local);
  if (decl) {
    const p = new Parser(decl.tokens);
    p.i = decl.start;
    if (decl.alias) {
      t = p.type();
    } else {
      p.expect("{");
      t = p.members();
      for (const base of decl.bases) {
        const b = resolve({ kind: "ref", name: base }, path);
        if (b && b.kind === "object") {
          for (const [k, v] of b.props) if (!t.props.has(k)) t.props.set(k, v);
        } else if (base !== "TypeMeta") {
          t.index = { kind: "prim" };  // an unknown base: accept any key
        }
      }
    }
    t.file = path;
  } else if (f.imports.has(name)) {
    const imp = f.imports.get(name);
    const target = resolveModule(path, imp.from);
    if (target) t = typeNamed(target, imp.name, depth + 1);
  }
  f.types.set(name, t);
  return t;
}

function resolve(t, file) {
  let seen = 0;
  while (t && t.kind === "ref" && seen++ < 8) {
    const r = typeNamed(t.file ?? file, t.name);
    if (!r) return null;
    t = r;
  }
  return t;
}

function check(value, type, file, path, out) {
  const t = resolve(type, file);
  if (!t || value === null || value === undefined) return;
  const here = t.file ?? file;
  if (t.kind === "union") {
    const objects = t.of.map((m) => resolve(m, here)).filter((m) => m && m.kind === "object");
    const arrays = t.of.map((m) => resolve(m, here)).filter((m) => m && m.kind === "array");
    if (Array.isArray(value) && arrays.length === 1) check(value, arrays[0], here, path, out);
    else if (typeof value === "object" && !Array.isArray(value) && objects.length === 1)
      check(value, objects[0], here, path, out);
    return;
  }
  if (t.kind === "array") {
    if (Array.isArray(value)) value.forEach((v, i) => check(v, t.of, here, `${path}/${i}`, out));
    return;
  }
  if (t.kind !== "object" || typeof value !== "object" || Array.isArray(value)) return;
  for (const [k, v] of Object.entries(value)) {
    if (t.props.has(k)) check(v, t.props.get(k), here, `${path}/${k}`, out);
    else if (t.index) check(v, t.index, here, `${path}/${k}`, out);
    else out.push(`${path}/${k}: unknown field "${k}"`);
  }
}

// The keys of `obj` (a whole object of `kind`, its class from `moduleName`) that its type
// does not declare, as "data/spec/...: unknown field ..."; [] when the declarations cannot
// be found.
export function unknownFields(obj, moduleName, kind) {
  let dir;
  try {
    dir = dirname(require.resolve(moduleName));
  } catch {
    return [];
  }
  const dts = join(dir, `${kind}.d.ts`);
  if (!existsSync(dts)) return [];
  const out = [];
  check(obj, { kind: "ref", name: `I${kind}`, file: dts }, dts, "data", out);
  return out;
}
