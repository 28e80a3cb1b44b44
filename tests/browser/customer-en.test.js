// A customer in English: reads the landing page, follows its one link to the form, makes a
// mistake in the email address, fixes it, lands on their case and adds information to it.
'use strict';

const assert = require('node:assert/strict');
const { test } = require('node:test');
const { journey, SLUG, inDays, unique } = require('./support');

test('a customer in English reads the page, submits the form and adds to the case', journey('customer-en', async (j) => {
  const { page } = j;
  const id = unique();

  await j.open(`/i/${SLUG}`);
  assert.equal(await page.locator('html').getAttribute('lang'), 'en');
  await page.getByRole('heading', { level: 1, name: /Fire on board MS Aurora/ }).waitFor();
  await page.getByText('All 412 passengers are ashore in Stavanger').waitFor();
  await j.shot('landing');
  await j.accessible('landing page (en)');
  await j.onPhone('landing');

  const formLinks = page.locator(`a[href*="/i/${SLUG}/form"]`);
  // One form: the call to action and the "Contact us" channel both lead to it, nowhere else.
  assert.equal(await formLinks.count(), 2, 'the call to action and the online-form channel');
  assert.equal(
    await page.getByRole('link', { name: 'Send us your request' }).count(),
    1,
    'one call to action',
  );
  await Promise.all([
    page.waitForURL((url) => url.pathname === `/i/${SLUG}/form`),
    page.getByRole('link', { name: 'Send us your request' }).click(),
  ]);
  await page.getByRole('heading', { level: 1, name: 'Tell us what you need' }).waitFor();
  await j.shot('form');
  await j.accessible('intake form');
  await j.onPhone('form');

  // "kari@example" passes the browser's own check but has no domain: the server refuses it.
  const typed = {
    name: 'Kari Nordmann',
    // Unique per run: a customer already known by phone would be joined to their open case.
    phone: `+47 9${String(Date.now()).slice(-7)}`,
    booking: `AUR${id}`.toUpperCase().slice(0, 12),
    date: inDays(5),
    message: `We were on the 14:00 sailing and need a refund for two cabins. (${id})`,
  };
  await page.getByLabel('Your name').fill(typed.name);
  await page.getByLabel('Email address').fill('kari@example');
  await page.getByLabel('Phone number').fill(typed.phone);
  await page.getByLabel('Booking reference').fill(typed.booking);
  await page.getByLabel('Departure date').fill(typed.date);
  await page.getByLabel('What do you need help with?').selectOption('refund');
  await page.getByLabel('Your message').fill(typed.message);
  await j.shot('form-filled-bad-email');
  await page.getByRole('button', { name: 'Send' }).click();
  await page.waitForLoadState();

  // The error sits beside the email field; everything else is still as typed.
  const emailError = page.locator('#email-error');
  await emailError.waitFor();
  assert.match(await emailError.innerText(), /Enter an email address like name@example.com/);
  assert.equal(await page.locator('.field.invalid').count(), 1, 'only the email field is marked');
  assert.equal(await page.locator('.field.invalid #email').count(), 1);
  assert.equal(await page.getByLabel('Email address').getAttribute('aria-invalid'), 'true');
  await page.getByRole('alert').filter({ hasText: 'Please correct the following' }).waitFor();
  assert.equal(await page.getByLabel('Email address').inputValue(), 'kari@example');
  assert.equal(await page.getByLabel('Your name').inputValue(), typed.name);
  assert.equal(await page.getByLabel('Phone number').inputValue(), typed.phone);
  assert.equal(await page.getByLabel('Booking reference').inputValue(), typed.booking);
  assert.equal(await page.getByLabel('Departure date').inputValue(), typed.date);
  assert.equal(await page.getByLabel('What do you need help with?').inputValue(), 'refund');
  assert.equal(await page.getByLabel('Your message').inputValue(), typed.message);
  await j.shot('form-email-error');
  await j.accessible('intake form with a validation error');

  await page.getByLabel('Email address').fill(`kari.${id}@example.com`);
  await Promise.all([
    page.waitForURL((url) => url.pathname.startsWith('/c/')),
    page.getByRole('button', { name: 'Send' }).click(),
  ]);
  const url = new URL(page.url());
  assert.ok(url.searchParams.get('t'), 'the case address carries the customer token');
  const reference = decodeURIComponent(url.pathname.slice('/c/'.length));
  assert.match(reference, /^[A-Z]{2}-[0-9A-Z]{6}$/);
  await page.getByRole('heading', { level: 1, name: 'We have received your request' }).waitFor();
  assert.equal(await page.locator('.reference').innerText(), reference);
  assert.equal(await page.getByText('You already have an open case').count(), 0, 'a new case, not joined');
  await page.locator('.conversation').getByText(typed.message).waitFor();
  await j.shot('case-received');
  await j.accessible('case page');

  const added = `Our booking also included a car, registration EB 12345. (${id})`;
  await page.getByLabel('Add information').fill(added);
  await Promise.all([
    page.waitForURL((u) => u.pathname === `/c/${reference}` && u.searchParams.has('added')),
    page.getByRole('button', { name: 'Send' }).click(),
  ]);
  await page.getByRole('status').filter({ hasText: 'Added to your case.' }).waitFor();
  const conversation = page.locator('.conversation li');
  await conversation.filter({ hasText: added }).waitFor();
  assert.equal(await conversation.count(), 2, 'the first message and the added one');
  await j.shot('case-added');
}));
