// Shared by the journeys: Debian's Chromium through playwright-core, a screenshot of every
// step, and an axe-core check that fails on serious or critical violations.
'use strict';

const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { chromium } = require('playwright-core');

const BASE_URL = (process.env.MUSTER_URL || '').replace(/\/$/, '');
const CHROMIUM = process.env.MUSTER_CHROMIUM || '/usr/bin/chromium';
const ARTIFACTS = path.resolve(__dirname, '..', 'artifacts', 'browser');
const SLUG = 'ms-aurora-fire';
const MANAGER = { email: 'manager@example.com', password: 'demo-manager-pass' };
const AGENT = { email: 'agent@example.com', password: 'demo-agent-pass1' };

// Without the background-networking flags Chromium's own connections are refused here and
// it stalls; the rest keep a headless run quiet and deterministic.
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

if (!BASE_URL) {
  throw new Error('MUSTER_URL is not set: run tests/browser/run.sh, which starts `muster demo`');
}

/** The absolute address of a path on the server under test. */
function at(pathAndQuery) {
  return BASE_URL + pathAndQuery;
}

/** One browser, one context, one page for a journey; every step is photographed. */
class Journey {
  static async start(name, t) {
    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: CHROMIUM_ARGS,
    });
    // The console sends a Content-Security-Policy; bypassing it lets axe-core be injected.
    const context = await browser.newContext({ bypassCSP: true, viewport: { width: 1024, height: 900 } });
    context.setDefaultTimeout(15000);
    const page = await context.newPage();
    const journey = new Journey(name, browser, page, t);
    t.after(() => browser.close());
    return journey;
  }

  constructor(name, browser, page, t) {
    this.name = name;
    this.t = t;
    this.browser = browser;
    this.page = page;
    this.step = 0;
  }

  /** Saves a full-page screenshot as tests/artifacts/browser/{journey}-{nn}-{label}.png. */
  async shot(label) {
    this.step += 1;
    fs.mkdirSync(ARTIFACTS, { recursive: true });
    const file = `${this.name}-${String(this.step).padStart(2, '0')}-${label}.png`;
    await this.page.screenshot({ path: path.join(ARTIFACTS, file), fullPage: true });
  }

  /** Goes to a path and asserts the response status. */
  async open(pathAndQuery, status = 200) {
    const response = await this.page.goto(at(pathAndQuery));
    assert.ok(response, `no response for ${pathAndQuery}`);
    assert.equal(response.status(), status, `GET ${pathAndQuery}`);
    return response;
  }

  /**
   * Looks at the current page on a phone-sized screen: screenshot, no sideways scrolling,
   * axe again; then back to the desktop size.
   */
  async onPhone(label) {
    const desktop = this.page.viewportSize();
    await this.page.setViewportSize({ width: 360, height: 780 });
    try {
      await this.shot(`${label}-phone`);
      const overflow = await this.page.evaluate(
        () => document.documentElement.scrollWidth - document.documentElement.clientWidth,
      );
      assert.ok(overflow <= 0, `${label} scrolls sideways on a phone by ${overflow}px`);
      await this.accessible(`${label} on a phone`);
    } finally {
      await this.page.setViewportSize(desktop);
    }
  }

  /** Runs axe-core on the current page; fails on any serious or critical violation. */
  async accessible(label) {
    await this.page.addScriptTag({ path: require.resolve('axe-core') });
    const results = await this.page.evaluate(() => window.axe.run(document));
    const bad = results.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
    // Moderate and minor findings are reported, not failed on.
    for (const v of results.violations.filter((v) => !bad.includes(v))) {
      this.t.diagnostic(`axe on ${label}: ${v.impact} ${v.id} (${v.nodes.length}): ${v.help}`);
    }
    const report = bad
      .map(
        (v) =>
          `${v.impact} ${v.id}: ${v.help}\n` +
          v.nodes.map((n) => `    ${n.target.join(' ')}: ${n.failureSummary.replace(/\n/g, ' ')}`).join('\n'),
      )
      .join('\n');
    assert.equal(bad.length, 0, `axe on ${label} (${this.page.url()}):\n${report}`);
  }

  /** Signs in through the console's login form. */
  async login(user) {
    await this.open('/console/login');
    await this.page.getByLabel('Email').fill(user.email);
    await this.page.getByLabel('Password').fill(user.password);
    await Promise.all([
      this.page.waitForURL((url) => url.pathname === '/console'),
      this.page.getByRole('button', { name: 'Sign in' }).click(),
    ]);
  }
}

/**
 * A test body for `test()`: starts a journey, and on failure saves a screenshot of where it
 * stopped ({journey}-{nn}-failed.png) before passing the failure on.
 */
function journey(name, body) {
  return async (t) => {
    const j = await Journey.start(name, t);
    try {
      await body(j);
    } catch (error) {
      await j.shot('failed').catch(() => {});
      throw error;
    }
  };
}

/** A departure date `days` from today, as the form's date field takes it (YYYY-MM-DD). */
function inDays(days) {
  const date = new Date(Date.now() + days * 24 * 3600 * 1000);
  return date.toISOString().slice(0, 10);
}

/** A short suffix that keeps names unique across runs against the same database. */
function unique() {
  return Date.now().toString(36) + Math.floor(Math.random() * 1296).toString(36);
}

module.exports = { journey, Journey, at, inDays, unique, SLUG, MANAGER, AGENT, BASE_URL };
