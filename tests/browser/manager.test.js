// The crisis manager: signs in, opens a new incident from the console home, posts an update
// on its console page and sees it on the public page; looks at the dashboard on the way.
// Then, on a new incident of their own, imports an audience from a CSV file, previews and
// sends a campaign, and every recipient's message is in the server's outbox.
'use strict';

const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { test } = require('node:test');
const { journey, SLUG, MANAGER, unique } = require('./support');

/**
 * Opens a new incident from the console home, after `more` (which may fill further fields);
 * the page is left on the incident's console page.
 */
async function openIncident(j, slug, title, more = async () => {}) {
  const { page } = j;
  await page.getByLabel('Address (slug)').fill(slug);
  await page.getByLabel('Title').fill(title);
  await more();
  await Promise.all([
    page.waitForURL((url) => url.pathname === `/console/incidents/${slug}`),
    page.getByRole('button', { name: 'Open incident' }).click(),
  ]);
  await page.getByRole('heading', { level: 1, name: title }).waitFor();
}

test('a manager opens an incident, posts an update and sees it on the public page', journey('manager', async (j) => {
  const { page } = j;
  const id = unique();
  const slug = `tram-outage-${id}`;
  const title = `Trams stopped all afternoon (${id})`;

  await j.open('/console/login');
  await page.getByRole('heading', { level: 1, name: 'Sign in to Muster' }).waitFor();
  await j.shot('login');
  await j.accessible('console login');

  await j.login(MANAGER);
  await page.getByRole('heading', { level: 1, name: 'Incidents' }).waitFor();
  await page.getByRole('link', { name: 'Fire on board MS Aurora: all sailings cancelled' }).waitFor();
  await page.getByText('Mina Manager (manager)').waitFor();
  await j.shot('home');
  await j.accessible('console home');

  await openIncident(j, slug, title, async () => {
    assert.equal(await page.getByLabel('Status').inputValue(), 'active', 'a new incident is active by default');
    await page.getByLabel('What happened (Markdown)').fill('A power failure stopped **every tram** at 13:05.');
    await j.shot('home-new-incident-filled');
  });
  await page.getByText('No updates yet.').waitFor();
  await j.shot('incident');
  await j.accessible('console incident edit');

  const update = `Buses replace trams every 10 minutes from Central Station. (${id})`;
  await page.getByLabel('Update (Markdown)').fill(update);
  await Promise.all([
    page.waitForURL((url) => url.pathname === `/console/incidents/${slug}`),
    page.getByRole('button', { name: 'Publish update' }).click(),
  ]);
  await page.getByRole('status').filter({ hasText: 'Update published' }).waitFor();
  await page.locator('main .timeline li').filter({ hasText: update }).waitFor();
  await j.shot('incident-update-posted');

  const href = await page.getByRole('link', { name: 'View the public page' }).getAttribute('href');
  assert.equal(new URL(href, page.url()).pathname, `/i/${slug}`);
  await j.open(`/i/${slug}`);
  await page.getByRole('heading', { level: 1, name: title }).waitFor();
  await page.locator('.updates').getByText(update).waitFor();
  await page.getByText('every tram').waitFor();
  await j.shot('public-page');

  await j.open(`/console/dashboard?incident=${SLUG}`);
  await page.getByRole('heading', { level: 1, name: /^Dashboard/ }).waitFor();
  await page.getByRole('heading', { name: 'Queue depth per tier' }).waitFor();
  await j.shot('dashboard');
  await j.accessible('console dashboard');
}));

/** The messages in the server's outbox (`MUSTER_OUTBOX`, set by run.sh) whose subject has `marker`. */
function outboxMessages(marker) {
  const outbox = process.env.MUSTER_OUTBOX;
  assert.ok(outbox, 'MUSTER_OUTBOX must name the folder the server writes mail to (run.sh sets it)');
  if (!fs.existsSync(outbox)) return [];
  return fs
    .readdirSync(outbox)
    .filter((name) => name.endsWith('.eml'))
    .map((name) => fs.readFileSync(path.join(outbox, name), 'utf8'))
    .filter((raw) => raw.includes(marker));
}

test('a manager imports an audience and sends a campaign that reaches every recipient', journey('manager-campaign', async (j) => {
  const { page } = j;
  const id = unique();
  const slug = `rail-strike-${id}`;
  const title = `Rail strike on Monday (${id})`;
  const recipients = ['ada', 'bo', 'cyrus'].map((name) => `${name}.${id}@example.com`);
  // The subject's marker is ASCII so it survives header encoding unchanged.
  const marker = `strike-${id}`;

  await j.login(MANAGER);
  await page.getByRole('heading', { level: 1, name: 'Incidents' }).waitFor();
  await openIncident(j, slug, title);

  await Promise.all([
    page.waitForURL((url) => url.pathname === `/console/incidents/${slug}/mail`),
    page.getByRole('link', { name: 'Email the audience' }).click(),
  ]);
  await page.getByRole('heading', { level: 1, name: `Email the audience: ${title}` }).waitFor();
  await page.getByText('0 customers').waitFor();
  await page.getByText('No campaigns yet.').waitFor();
  await j.shot('mail');
  await j.accessible('console mail page');

  const csv = [
    'email,name,booking_reference,language',
    `${recipients[0]},Ada,BK1001,en`,
    'not-an-address,Nobody,BK1002,en',
    `${recipients[1]},Bo,BK1003,en`,
    `${recipients[2]},Cyrus,BK1004,en`,
  ].join('\n') + '\n';
  await page.getByLabel(/^CSV file/).setInputFiles({ name: 'audience.csv', mimeType: 'text/csv', buffer: Buffer.from(csv) });
  await page.getByRole('button', { name: 'Import' }).click();
  await page.getByText('4 rows: 3 added, 0 updated, 1 rejected.').waitFor();
  await page.getByRole('cell', { name: '"not-an-address" is not an email address' }).waitFor();
  await page.getByText('3 customers').waitFor();
  await j.shot('mail-imported');
  await j.accessible('console mail page with an import report');

  await page.getByLabel('Subject').fill(`Trains on Monday, {{name}} (${marker})`);
  await page.getByLabel('Text').fill('Dear {{name}}, booking {{booking_reference}}: no trains run on Monday.\nYour form: {{form_link}}');
  await page.getByRole('button', { name: 'Preview' }).click();
  await page.getByRole('heading', { name: `Preview for ${recipients[0]}` }).waitFor();
  await page.getByText(`Trains on Monday, Ada (${marker})`).waitFor();
  assert.deepEqual(outboxMessages(marker), [], 'a preview sends nothing');
  await j.shot('campaign-preview');
  await j.accessible('console campaign preview');

  await Promise.all([
    page.waitForURL((url) => url.pathname === `/console/incidents/${slug}/mail`),
    page.getByRole('button', { name: 'Send to the audience' }).click(),
  ]);
  const row = page.locator('tbody tr').filter({ hasText: `Trains on Monday, {{name}} (${marker})` });
  await row.waitFor();
  // The dispatcher works in the background: reload until the campaign is done.
  const deadline = Date.now() + 30000;
  while (!(await row.getByRole('cell', { name: 'done', exact: true }).isVisible())) {
    assert.ok(Date.now() < deadline, 'the campaign is sent within 30 s');
    await new Promise((resolve) => setTimeout(resolve, 500));
    await page.reload();
  }
  await row.getByText('3 sent · 0 failed · 0 bounced · 0 pending of 3').waitFor();
  await j.shot('campaign-sent');
  await j.accessible('console mail page with a sent campaign');

  const messages = outboxMessages(marker);
  for (const [i, name] of ['Ada', 'Bo', 'Cyrus'].entries()) {
    const mine = messages.filter((raw) => new RegExp(`^To: .*${recipients[i].replace(/[.]/g, '\\.')}`, 'mi').test(raw));
    assert.equal(mine.length, 1, `${recipients[i]} got the campaign exactly once`);
    assert.ok(mine[0].includes(`Dear ${name}, booking`), `personalised for ${name}`);
  }
  assert.equal(messages.length, 3, 'nothing else was sent');
}));
