/**
 * The site's picture: one panel per scenario, bytes received over time, per node and by
 * source (solid: from peers on the LAN, dashed: from the WAN), with the WAN link's total
 * as a wide pale line. Plain SVG, written by hand so the benchmark needs nothing to draw it.
 */
import type { ScenarioResult } from './scenarios.ts';

const COLORS = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2'];
const W = 760;
const PANEL_H = 210;
const M = { left: 64, right: 150, top: 34, bottom: 34 };

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;');

function niceStep(max: number, ticks: number): number {
  const raw = max / ticks;
  const mag = 10 ** Math.floor(Math.log10(raw));
  return [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? raw;
}

function panel(r: ScenarioResult, imageSize: number, y0: number): string {
  const plotW = W - M.left - M.right;
  const plotH = PANEL_H - M.top - M.bottom;
  const samples = r.samples;
  const tMax = Math.max(1, samples[samples.length - 1]!.t / 1000);
  const yMaxBytes = Math.max(imageSize * 1.1, ...samples.map((s) => s.wanDown), ...samples.flatMap((s) => s.nodes.flatMap((n) => [n.wan, n.peers])));
  const MB = 1e6;
  const x = (t: number) => M.left + (t / 1000 / tMax) * plotW;
  const y = (b: number) => y0 + M.top + plotH - (b / yMaxBytes) * plotH;
  const line = (pick: (s: (typeof samples)[number]) => number) => samples.map((s, i) => `${i === 0 ? 'M' : 'L'}${x(s.t).toFixed(1)},${y(pick(s)).toFixed(1)}`).join('');
  const out: string[] = [];
  out.push(`<text x="${M.left}" y="${y0 + 20}" font-weight="bold">${esc(r.name)}: ${esc(r.title)}</text>`);
  const ts = niceStep(tMax, 8);
  for (let t = 0; t <= tMax + 1e-9; t += ts) {
    out.push(`<line x1="${x(t * 1000)}" x2="${x(t * 1000)}" y1="${y0 + M.top}" y2="${y0 + M.top + plotH}" stroke="#eee"/>`);
    out.push(`<text x="${x(t * 1000)}" y="${y0 + M.top + plotH + 14}" text-anchor="middle" font-size="10">${Math.round(t)}s</text>`);
  }
  const bs = niceStep(yMaxBytes / MB, 4) * MB;
  for (let b = 0; b <= yMaxBytes + 1; b += bs) {
    out.push(`<line x1="${M.left}" x2="${M.left + plotW}" y1="${y(b)}" y2="${y(b)}" stroke="#eee"/>`);
    out.push(`<text x="${M.left - 6}" y="${y(b) + 3}" text-anchor="end" font-size="10">${Math.round(b / MB)} MB</text>`);
  }
  out.push(`<line x1="${M.left}" x2="${M.left + plotW}" y1="${y(imageSize)}" y2="${y(imageSize)}" stroke="#999" stroke-dasharray="2,3"/>`);
  out.push(`<text x="${M.left + plotW - 2}" y="${y(imageSize) - 3}" text-anchor="end" font-size="9" fill="#666">image size</text>`);
  for (const m of r.marks) {
    out.push(`<line x1="${x(m.t)}" x2="${x(m.t)}" y1="${y0 + M.top}" y2="${y0 + M.top + plotH}" stroke="#000" stroke-dasharray="4,2"/>`);
    // Above the frame, where no data line can run through it.
    out.push(`<text x="${x(m.t) + 3}" y="${y0 + M.top - 3}" font-size="10">${esc(m.label)}</text>`);
  }
  // The WAN link underneath, wide and pale: the node that downloads draws its own line on it.
  out.push(`<path d="${line((s) => s.wanDown)}" fill="none" stroke="#bbb" stroke-width="5"/>`);
  const nodeCount = samples[0]!.nodes.length;
  for (let i = 0; i < nodeCount; i++) {
    const c = COLORS[i % COLORS.length];
    out.push(`<path d="${line((s) => s.nodes[i]!.peers)}" fill="none" stroke="${c}" stroke-width="1.5"/>`);
    out.push(`<path d="${line((s) => s.nodes[i]!.wan)}" fill="none" stroke="${c}" stroke-width="1.5" stroke-dasharray="5,3"/>`);
    const ly = y0 + M.top + 4 + i * 14;
    out.push(
      `<line x1="${M.left + plotW + 12}" x2="${M.left + plotW + 30}" y1="${ly}" y2="${ly}" stroke="${c}" stroke-width="2"/><text x="${M.left + plotW + 34}" y="${ly + 4}" font-size="10">n${i + 1}</text>`,
    );
  }
  const ly = y0 + M.top + 4 + nodeCount * 14;
  out.push(
    `<line x1="${M.left + plotW + 12}" x2="${M.left + plotW + 30}" y1="${ly}" y2="${ly}" stroke="#bbb" stroke-width="5"/><text x="${M.left + plotW + 34}" y="${ly + 4}" font-size="10">WAN link</text>`,
  );
  out.push(
    `<text x="${M.left + plotW + 12}" y="${ly + 18}" font-size="9" fill="#444">solid: from peers</text><text x="${M.left + plotW + 12}" y="${ly + 30}" font-size="9" fill="#444">dashed: from WAN</text>`,
  );
  out.push(`<rect x="${M.left}" y="${y0 + M.top}" width="${plotW}" height="${plotH}" fill="none" stroke="#333"/>`);
  return out.join('\n');
}

export function siteChart(results: ScenarioResult[], imageSize: number): string {
  const h = PANEL_H * results.length;
  const panels = results.map((r, i) => panel(r, imageSize, i * PANEL_H));
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${h}" viewBox="0 0 ${W} ${h}" font-family="sans-serif" font-size="12">\n<rect width="100%" height="100%" fill="#fff"/>\n${panels.join('\n')}\n</svg>\n`;
}
