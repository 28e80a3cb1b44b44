// An agent through a surge: twenty cases answered from the keyboard alone ("n", "r",
// Ctrl+Enter: send and take the next), while a colleague's queue follows without a reload;
// a Persian customer answered with the Persian canned text, right to left; a duplicate merged
// after the confirmation and the merge undone.
'use strict';

const assert = require('node:assert/strict');
const { test } = require('node:test');
const { journey, at, SLUG, AGENT, MANAGER, inDays, unique } = require('./support');

const SURGE = 20;

/**
 * Sends the form as a new customer would (no case cookie from an earlier one on this phone)
 * and returns the new case's reference.
 */
async function submit(page, fields, lang = 'en') {
  await page.context().clearCookies();
  await page.goto(at(`/i/${SLUG}/form?lang=${lang}`));
  for (const [name, value] of Object.entries(fields)) {
    const field = page.locator(`[name="${name}"]`);
    if (name === 'request_type') {
      await field.selectOption(value);
    } else {
      await field.fill(value);
    }
  }
  await Promise.all([
    page.waitForURL((url) => url.pathname.startsWith('/c/')),
    page.locator('form button[type="submit"]').click(),
  ]);
  return decodeURIComponent(new URL(page.url()).pathname.split('/').pop());
}

/** A traveller leaving tomorrow (the top of the queue), told apart by `n`. */
function traveller(id, n) {
  return {
    name: `Surge Traveller ${n}`,
    email: `surge.${id}.${n}@example.com`,
    booking_ref: `S${n}${id.slice(-8)}`.toUpperCase(),
    departure_date: inDays(1),
    request_type: 'question',
    message: `Is my sailing tomorrow still going? (${id}/${n})`,
  };
}

/** The reference of the case open in the working view. */
function openReference(page) {
  return decodeURIComponent(new URL(page.url()).pathname.split('/').pop());
}

test('an agent works twenty cases by keyboard, a colleague sees it live, Persian is answered in Persian, a merge is undone', journey('agent-surge', async (j) => {
  const { page } = j;
  const id = unique();

  // The customers write in: twenty travellers leaving tomorrow.
  const customers = await j.browser.newContext({ viewport: { width: 390, height: 844 } });
  const customerPage = await customers.newPage();
  const arrived = new Set();
  for (let n = 1; n <= SURGE; n += 1) {
    arrived.add(await submit(customerPage, traveller(id, n)));
  }
  assert.equal(arrived.size, SURGE, 'every submission has its own case');

  // A colleague (the manager) watches the same queue on another screen.
  const colleague = await j.browser.newContext({ viewport: { width: 1280, height: 900 } });
  const colleaguePage = await colleague.newPage();
  await colleaguePage.goto(at('/console/login'));
  await colleaguePage.getByLabel('Email').fill(MANAGER.email);
  await colleaguePage.getByLabel('Password').fill(MANAGER.password);
  await Promise.all([
    colleaguePage.waitForURL((url) => url.pathname === '/console'),
    colleaguePage.getByRole('button', { name: 'Sign in' }).click(),
  ]);
  await colleaguePage.goto(at(`/console/queue?incident=${SLUG}`));
  await colleaguePage.locator('#queue[data-live]').waitFor();

  // The agent signs in and works from the keyboard only.
  await j.login(AGENT);
  await j.open(`/console/queue?incident=${SLUG}`);
  await page.locator('#queue').waitFor();
  await j.shot('queue');
  await page.keyboard.press('n');
  await page.waitForURL((url) => url.pathname.startsWith('/console/cases/'));
  const answered = [];
  for (let n = 1; n <= SURGE; n += 1) {
    const reference = openReference(page);
    assert.ok(!answered.includes(reference), `case ${reference} is handed out only once`);
    answered.push(reference);
    await page.keyboard.press('r');
    assert.equal(await page.evaluate(() => document.activeElement && document.activeElement.id), 'body', '"r" puts the cursor in the reply');
    await page.keyboard.type(`Yes, your sailing is cancelled; we refund you in full. (${id}/${n})`);
    if (n === 1) await j.shot('case-typing');
    await Promise.all([
      page.waitForURL((url) => url.pathname !== `/console/cases/${encodeURIComponent(reference)}`),
      page.keyboard.press('Control+Enter'),
    ]);
    // Either the next case, or the queue when none is left: both say the reply went.
    await page.getByText('Reply sent.').first().waitFor();
    if (!page.url().includes('/console/cases/')) break;
  }
  assert.equal(answered.length, SURGE, `twenty cases answered by keyboard (${answered.length})`);
  const ours = answered.filter((r) => arrived.has(r)).length;
  assert.ok(ours >= SURGE / 2, `most of the answered cases are the surge's own (${ours})`);
  await j.shot('after-twenty');

  // The colleague's screen followed without a reload: a case that arrives now appears on it.
  const colleagueUrl = colleaguePage.url();
  const late = await submit(customerPage, traveller(id, SURGE + 1));
  await colleaguePage.locator('ol.cases li.case .case-head a', { hasText: late }).waitFor({ timeout: 10000 });
  assert.equal(colleaguePage.url(), colleagueUrl, 'the colleague did not navigate');
  assert.notEqual(await colleaguePage.locator('#live-status').innerText(), '', 'the live line says what changed');
  await colleaguePage.screenshot({ path: require('node:path').resolve(__dirname, '..', 'artifacts', 'browser', 'agent-surge-colleague-live.png') });

  // A Persian customer: the canned response offered is the Persian one, and it reads right to left.
  const persian = await submit(customerPage, {
    name: 'مریم رضایی',
    email: `maryam.${id}@example.com`,
    booking_ref: `F${id.slice(-8)}`.toUpperCase(),
    departure_date: inDays(3),
    request_type: 'refund',
    message: 'سفر من لغو شد. لطفاً پول من را برگردانید.',
  }, 'fa');
  await page.keyboard.press('/');
  assert.equal(await page.evaluate(() => document.activeElement && document.activeElement.id), 'search', '"/" goes to the search');
  await page.keyboard.type(persian);
  await Promise.all([
    page.waitForURL((url) => url.pathname === `/console/cases/${persian}` || url.searchParams.get('q') === persian),
    page.keyboard.press('Enter'),
  ]);
  if (!page.url().includes(`/console/cases/${persian}`)) {
    await page.locator('ol.cases li.case .case-head a', { hasText: persian }).click();
    await page.waitForURL((url) => url.pathname === `/console/cases/${persian}`);
  }
  const offered = page.locator('#canned option[lang]');
  assert.ok(await offered.count() >= 1, 'canned responses are offered');
  assert.equal(await offered.first().getAttribute('lang'), 'fa', 'the canned text offered is the Persian one');
  await page.locator('#canned').selectOption({ index: 1 });
  const filled = await page.locator('#body').inputValue();
  assert.match(filled, /[\u0600-\u06FF]/, 'the canned response filled the reply in Persian');
  assert.equal(await page.locator('#body').evaluate((el) => getComputedStyle(el).direction), 'rtl', 'Persian is written right to left');
  await j.shot('persian-canned');
  await Promise.all([
    page.waitForURL((url) => url.pathname === `/console/cases/${persian}`),
    page.getByRole('button', { name: 'Send reply' }).click(),
  ]);
  await page.getByText('Reply sent.').first().waitFor();
  const sent = page.locator('.timeline li.outbound').last().locator('[dir="auto"]').first();
  assert.equal(await sent.evaluate((el) => getComputedStyle(el).direction), 'rtl', 'the Persian reply shows right to left on the timeline');

  // The same traveller wrote twice, from two addresses: the agent merges one case into the
  // other by its reference, confirms, and then undoes it.
  const twin = (n) => ({
    name: 'Dup Twin',
    email: `twin.${id}.${n}@example.com`,
    booking_ref: `T${n}${id.slice(-8)}`.toUpperCase(),
    departure_date: inDays(5),
    request_type: 'change',
    message: `Please rebook me (${id}/${n})`,
  });
  const firstRef = await submit(customerPage, twin(1));
  const other = await submit(customerPage, twin(2));
  await j.open(`/console/cases/${other}`);
  await page.getByLabel('Merge into case').fill(firstRef);
  await page.getByRole('button', { name: 'Merge', exact: true }).click();
  await page.getByRole('heading', { level: 1, name: `Merge ${other} into ${firstRef}?` }).waitFor();
  await j.shot('merge-confirm');
  await Promise.all([
    page.waitForURL((url) => url.pathname === `/console/cases/${firstRef}`),
    page.getByRole('button', { name: `Merge ${other} into ${firstRef}` }).click(),
  ]);
  await page.getByText(`Merged from ${other}`).first().waitFor();
  await j.shot('merged');
  await Promise.all([
    page.waitForURL((url) => url.pathname === `/console/cases/${firstRef}`),
    page.getByRole('button', { name: `Undo the merge of ${other}` }).click(),
  ]);
  assert.equal(await page.getByRole('button', { name: `Undo the merge of ${other}` }).count(), 0, 'the undo is gone once used');
  await j.open(`/console/cases/${other}`);
  assert.equal(await page.getByText(`Merged into ${firstRef}`).count(), 0, 'the merged-away case stands on its own again');
  await j.shot('unmerged');
  await j.accessible('console case after undo');
  await customers.close();
  await colleague.close();
}));
