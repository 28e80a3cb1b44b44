// An agent: signs in, opens the queue, takes the next case, replies, resolves it, and the
// queue has one case fewer. A customer's form submission first makes sure there is a case.
'use strict';

const assert = require('node:assert/strict');
const { test } = require('node:test');
const { journey, SLUG, AGENT, inDays, unique } = require('./support');

/** The references listed in the queue table. */
async function queued(page) {
  return page.locator('ol.cases li.case .case-head a').allInnerTexts();
}

test('an agent takes the next case, replies, resolves it and the queue shrinks', journey('agent', async (j) => {
  const { page } = j;
  const id = unique();

  // A customer travelling tomorrow: a critical case waiting in the queue.
  await j.open(`/i/${SLUG}/form`);
  await page.getByLabel('Your name').fill('Ola Passenger');
  await page.getByLabel('Email address').fill(`ola.${id}@example.com`);
  await page.getByLabel('Booking reference').fill(`AG${id}`.toUpperCase().slice(0, 12));
  await page.getByLabel('Departure date').fill(inDays(1));
  await page.getByLabel('What do you need help with?').selectOption('question');
  await page.getByLabel('Your message').fill(`Is my sailing tomorrow cancelled too? (${id})`);
  await Promise.all([
    page.waitForURL((url) => url.pathname.startsWith('/c/')),
    page.getByRole('button', { name: 'Send' }).click(),
  ]);
  await j.shot('customer-case');

  await j.login(AGENT);
  await page.getByText('Arne Agent (agent)').waitFor();
  await j.shot('home');

  await j.open(`/console/queue?incident=${SLUG}`);
  await page.getByRole('heading', { level: 1, name: /^Queue · Fire on board MS Aurora/ }).waitFor();
  const before = await queued(page);
  assert.ok(before.length >= 1, 'the queue lists at least the case just submitted');
  await j.shot('queue');
  await j.accessible('console queue');

  await Promise.all([
    page.waitForURL((url) => url.pathname.startsWith('/console/cases/')),
    page.getByRole('button', { name: 'Take the next case' }).click(),
  ]);
  const reference = decodeURIComponent(new URL(page.url()).pathname.split('/').pop());
  assert.ok(before.includes(reference), `the case taken (${reference}) was in the queue`);
  await page.getByRole('heading', { level: 1, name: new RegExp(`^${reference} · `) }).waitFor();
  await j.shot('case');
  await j.accessible('console case view');

  const reply = `Hello, yes: every sailing this week is cancelled. We will refund you in full. (${id})`;
  await page.getByLabel('Message (the customer').fill(reply);
  await page.getByLabel('Then set the case to').selectOption('open');
  await Promise.all([
    page.waitForURL((url) => url.pathname === `/console/cases/${reference}`),
    page.getByRole('button', { name: 'Send reply' }).click(),
  ]);
  await page.locator('.timeline li.outbound').filter({ hasText: reply }).waitFor();
  const firstResponse = await page.getByRole('row', { name: /^First response/ }).locator('td').innerText();
  assert.notEqual(firstResponse, 'not yet', 'the reply counts as the first response');
  assert.equal(await page.getByRole('row', { name: /^Status/ }).locator('td').innerText(), 'open');
  await j.shot('case-replied');

  await page.getByLabel('Status', { exact: true }).selectOption('resolved');
  await Promise.all([
    page.waitForURL((url) => url.pathname === `/console/cases/${reference}`),
    page.getByRole('button', { name: 'Set status' }).click(),
  ]);
  assert.equal(await page.getByRole('row', { name: /^Status/ }).locator('td').innerText(), 'resolved');
  await j.shot('case-resolved');

  await page.getByRole('link', { name: 'Back to the queue' }).click();
  await page.waitForURL((url) => url.pathname === '/console/queue');
  const after = await queued(page);
  assert.ok(!after.includes(reference), `the resolved case ${reference} has left the queue`);
  // Of the cases listed before, exactly the resolved one is gone (cases that arrived in the
  // meantime, should another journey run alongside, do not count).
  const stillListed = after.filter((r) => before.includes(r));
  assert.equal(stillListed.length, before.length - 1, 'the queue shows one case fewer');
  assert.deepEqual(stillListed.sort(), before.filter((r) => r !== reference).sort());
  await j.shot('queue-after');
}));
