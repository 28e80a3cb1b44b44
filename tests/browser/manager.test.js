// The crisis manager: signs in, opens a new incident from the console home, posts an update
// on its console page and sees it on the public page; looks at the dashboard on the way.
'use strict';

const assert = require('node:assert/strict');
const { test } = require('node:test');
const { journey, SLUG, MANAGER, unique } = require('./support');

// TODO(campaigns): a journey "manager sends a campaign to the imported audience" belongs here
// once campaign sending lands in the console (it is being built on another branch).

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

  await page.getByLabel('Address (slug)').fill(slug);
  await page.getByLabel('Title').fill(title);
  assert.equal(await page.getByLabel('Status').inputValue(), 'active', 'a new incident is active by default');
  await page.getByLabel('What happened (Markdown)').fill('A power failure stopped **every tram** at 13:05.');
  await j.shot('home-new-incident-filled');
  await Promise.all([
    page.waitForURL((url) => url.pathname === `/console/incidents/${slug}`),
    page.getByRole('button', { name: 'Open incident' }).click(),
  ]);
  await page.getByRole('heading', { level: 1, name: title }).waitFor();
  await page.getByText('No updates yet.').waitFor();
  await j.shot('incident');
  await j.accessible('console incident edit');

  const update = `Buses replace trams every 10 minutes from Central Station. (${id})`;
  await page.getByLabel('Update (Markdown)').fill(update);
  await Promise.all([
    page.waitForURL((url) => url.pathname === `/console/incidents/${slug}`),
    page.getByRole('button', { name: 'Publish update' }).click(),
  ]);
  await page.locator('main ul li').filter({ hasText: update }).waitFor();
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
