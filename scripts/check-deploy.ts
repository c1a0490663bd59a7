/**
 * Checks the monitoring files against docker-compose.yml, which nothing else would do before a deploy: every
 * Prometheus target names a compose service, every feedflow process is scraped, every file a service mounts
 * exists, and every Grafana dashboard is JSON with panels that query the provisioned datasource.
 *
 *   docker compose -f docker-compose.yml config --format json | node --require tsx/cjs scripts/check-deploy.ts
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';

interface ComposeService {
  image?: string;
  volumes?: Array<{ type: string; source?: string }>;
}

const ROOT = resolve(__dirname, '..');
const FEEDFLOW_IMAGE = 'feedflow:latest';
const problems: string[] = [];

const compose = JSON.parse(readFileSync(0, 'utf8')) as { services: Record<string, ComposeService> };
const services = compose.services;

// The targets are written as `targets: ['host:port', ...]`; a YAML parser would be a dependency for one list.
const prometheus = readFileSync(resolve(ROOT, 'deploy/prometheus/prometheus.yml'), 'utf8');
const targets = [...prometheus.matchAll(/targets:\s*\[([^\]]*)\]/g)].flatMap((m) =>
  m[1]
    .split(',')
    .map((t) => t.trim().replace(/^['"]|['"]$/g, ''))
    .filter(Boolean),
);
const scraped = new Set(targets.map((t) => t.split(':')[0]));
for (const t of targets)
  if (!services[t.split(':')[0]]) problems.push(`prometheus target ${t}: no such compose service`);
for (const [name, s] of Object.entries(services)) {
  if (s.image === FEEDFLOW_IMAGE && !scraped.has(name)) problems.push(`compose service ${name}: not scraped`);
  for (const v of s.volumes ?? []) {
    if (v.type === 'bind' && v.source && !existsSync(v.source)) problems.push(`${name} mounts missing ${v.source}`);
  }
}

const datasources = readFileSync(resolve(ROOT, 'deploy/grafana/provisioning/datasources/prometheus.yml'), 'utf8');
const uids = new Set([...datasources.matchAll(/^\s*uid:\s*(\S+)/gm)].map((m) => m[1]));
const dashboards = resolve(ROOT, 'deploy/grafana/dashboards');
for (const file of readdirSync(dashboards).filter((f) => f.endsWith('.json'))) {
  let dashboard: { uid?: string; panels?: Array<{ type: string; title?: string; targets?: unknown[] }> };
  try {
    dashboard = JSON.parse(readFileSync(resolve(dashboards, file), 'utf8'));
  } catch (err) {
    problems.push(`${file}: ${(err as Error).message}`);
    continue;
  }
  const panels = (dashboard.panels ?? []).filter((p) => p.type !== 'row');
  if (!dashboard.uid || panels.length === 0) problems.push(`${file}: needs a uid and panels`);
  for (const p of panels) {
    const queries = (p.targets ?? []) as Array<{ expr?: string; datasource?: { uid?: string } }>;
    if (queries.length === 0 || queries.some((q) => !q.expr || !uids.has(q.datasource?.uid ?? ''))) {
      problems.push(`${file}: panel "${p.title}" needs queries on a provisioned datasource`);
    }
  }
}

if (problems.length) {
  for (const p of problems) console.error(`[check-deploy] ${p}`);
  process.exit(1);
}
console.log(`[check-deploy] ${targets.length} scrape targets and the Grafana dashboards agree with docker-compose.yml`);
