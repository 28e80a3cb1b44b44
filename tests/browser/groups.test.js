// An agent answers a cancelled sailing at once: 50 customers on one trip write in three
// languages; the agent saves a group on the trip, writes one reply per language, and it is
// held with an undo; meanwhile a colleague answers one of the cases by hand; when the reply
// goes, 49 cases get it (each in its language, by email) and the colleague's case is
// skipped and listed. axe-core finds no violation of any impact; screenshots at 390 and
// 1280 px wide.
'use strict';

const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { test } = require('node:test');
const { chromium } = require('playwright-core');
const { journey, at, SLUG, AGENT, MANAGER, inDays, unique } = require('./support');

const CASES = 50;
const LANGUAGES = ['en', 'nb', 'fa'];
const ARTIFACTS = path.resolve(__dirname, '..', 'artifacts', 'browser');

/** Every axe violation, whatever its impact, fails. */
async function noViolations(page, label) {
  await page.addScriptTag({ path: require.resolve('axe-core') });
  const results = await page.evaluate(() => window.axe.run(document));
  const report = results.violations
    .map((v) => `${v.impact} ${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(' ')).join(', ')})`)
    .join('\n');
  assert.equal(results.violations.length, 0, `axe on ${label}:\n${report}`);
}

/** Screenshots at 390 and 1280 px, no sideways scrolling at either, axe at both. */
async function atBothWidths(page, name) {
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  for (const width of [390, 1280]) {
    await page.setViewportSize({ width, height: 900 });
    await page.screenshot({ path: path.join(ARTIFACTS, `groups-${name}-${width}.png`), fullPage: true });
    const overflow = await page.evaluate(
      () => document.documentElement.scrollWidth - document.documentElement.clientWidth,
    );
    assert.ok(overflow <= 0, `${name} scrolls sideways at ${width}px by ${overflow}px`);
    await noViolations(page, `${name} at ${width}px`);
  }
}

/** The group reply messages in the outbox, by recipient. */
function groupMail() {
  const outbox = process.env.MUSTER_OUTBOX;
  const byRecipient = new Map();
  if (!outbox || !fs.existsSync(outbox)) return byRecipient;
  for (const file of fs.readdirSync(outbox)) {
    const raw = fs.readFileSync(path.join(outbox, file), 'utf8');
    if (!/^Message-ID: <group\./im.test(raw)) continue;
    const to = (raw.match(/^To: (?:.*<)?([^>\s]+)>?\s*$/im) || [])[1];
    if (to) byRecipient.set(to, (byRecipient.get(to) || 0) + 1);
  }
  return byRecipient;
}

test('one reply answers 50 cases on a cancelled sailing in three languages, skipping the one a colleague answered', journey('groups', async (j) => {
  const { page } = j;
  const id = unique();
  const trip = `AUR-${id}`.toUpperCase().slice(0, 20);

  // 50 customers of the sailing write through the form, in English, Norwegian and Persian.
  const references = [];
  for (let n = 0; n < CASES; n += 1) {
    const lang = LANGUAGES[n % 3];
    const response = await page.request.post(at(`/i/${SLUG}/form`), {
      form: {
        name: `Passenger ${n} ${id}`,
        email: `p${n}.${id}@example.com`,
        booking_ref: `G${n}${id}`.toUpperCase().slice(0, 12),
        departure_date: inDays(2),
        trip,
        request_type: 'cancellation',
        message: `Is sailing ${trip} cancelled? (${n})`,
        language: lang,
        idempotency_key: require('node:crypto').randomBytes(32).toString('hex'),
      },
      maxRedirects: 0,
    });
    assert.ok([200, 201, 303].includes(response.status()), `form ${n}: ${response.status()}`);
    const location = response.headers().location || '';
    const reference = decodeURIComponent((location.match(/\/c\/([^?]+)/) || [])[1] || '');
    references.push(reference);
  }

  await j.login(AGENT);
  await j.open(`/console/groups?incident=${SLUG}`);
  await page.getByLabel('Name').fill(`Sailing ${trip}`);
  await page.getByLabel('Trip (sailing, flight or route)').fill(trip.toLowerCase());
  await Promise.all([
    page.waitForURL((url) => /^\/console\/groups\/\d+$/.test(url.pathname)),
    page.getByRole('button', { name: 'Save the group' }).click(),
  ]);
  await page.getByText('Group saved.').waitFor();
  assert.equal(await page.locator('#count').innerText(), String(CASES));
  const groupUrl = page.url().split('?')[0];
  await atBothWidths(page, 'group');

  await page.getByLabel('Reply in en').fill('Dear {{name}}, sailing {{trip}} is cancelled. You get a full refund; your case: {{case_url}}');
  await page.getByLabel('Reply in nb').fill('Kjære {{name}}, avgangen {{trip}} er innstilt. Du får full refusjon: {{case_url}}');
  await page.getByLabel('Reply in fa').fill('{{name}} عزیز، سفر {{trip}} لغو شد. همه‌ی پول شما بازگردانده می‌شود: {{case_url}}');
  await page.getByLabel('Then set each case to').selectOption('waiting_on_customer');
  await Promise.all([
    page.waitForURL((url) => url.searchParams.has('held')),
    page.getByRole('button', { name: `Send to all ${CASES} cases` }).click(),
  ]);
  await page.getByText('Reply held').waitFor();
  await page.getByRole('button', { name: 'Undo this reply' }).waitFor();
  await atBothWidths(page, 'held');

  // While it is held, a colleague answers one of the cases by hand.
  const colleague = await chromium.launch({
    executablePath: process.env.MUSTER_CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
  try {
    const other = await (await colleague.newContext()).newPage();
    await other.goto(at('/console/login'));
    await other.getByLabel('Email').fill(MANAGER.email);
    await other.getByLabel('Password').fill(MANAGER.password);
    await Promise.all([
      other.waitForURL((url) => url.pathname === '/console'),
      other.getByRole('button', { name: 'Sign in' }).click(),
    ]);
    await other.goto(at(`/console/cases/${references[4]}`));
    await other.getByLabel('Message (the customer').fill('I called you: your refund is on its way.');
    await Promise.all([
      other.waitForURL((url) => url.pathname === `/console/cases/${references[4]}`),
      other.getByRole('button', { name: 'Send reply' }).click(),
    ]);
  } finally {
    await colleague.close();
  }

  // The hold runs out and the reply goes: the page shows its progress until it is done.
  const deadline = Date.now() + 120000;
  for (;;) {
    await page.goto(groupUrl);
    const status = await page.locator('.reply-status').first().innerText();
    if (status === 'done') break;
    assert.ok(Date.now() < deadline, `the reply is still ${status}`);
    await page.waitForTimeout(1000);
  }
  assert.equal(await page.locator('.replied').first().innerText(), String(CASES - 1));
  assert.equal(await page.locator('.skipped').first().innerText(), '1');
  const skipped = page.getByRole('table', { name: 'Skipped cases' });
  await skipped.getByRole('link', { name: references[4] }).waitFor();
  await skipped.getByText('a colleague answered it').waitFor();
  assert.equal(await page.locator('#count').innerText(), String(CASES), 'waiting cases stay in the group');
  await atBothWidths(page, 'sent');

  // Each answered customer got one message by email, the colleague's customer none from it.
  let mail = groupMail();
  for (let tries = 0; tries < 50 && [...mail.keys()].filter((to) => to.endsWith(`.${id}@example.com`)).length < CASES - 1; tries += 1) {
    await page.waitForTimeout(200);
    mail = groupMail();
  }
  const ours = [...mail.entries()].filter(([to]) => to.endsWith(`.${id}@example.com`));
  assert.equal(ours.length, CASES - 1, 'every case but the skipped one got the reply');
  assert.ok(ours.every(([, copies]) => copies === 1), 'once each');
  assert.ok(!mail.has(`p4.${id}@example.com`), 'not the case the colleague answered');

  // A Persian case shows the Persian reply on its timeline.
  await j.open(`/console/cases/${references[2]}`);
  await page.locator('.timeline li.outbound').filter({ hasText: 'عزیز' }).waitFor();
  await j.shot('persian-case');
}));
