// A customer in Persian: the landing page is right-to-left, and the form, filled in Persian,
// leads to a case page in Persian.
'use strict';

const assert = require('node:assert/strict');
const { test } = require('node:test');
const { journey, SLUG, inDays, unique } = require('./support');

test('a customer in Persian reads the page right to left and submits the form in Persian', journey('customer-fa', async (j) => {
  const { page } = j;
  const id = unique();

  await j.open(`/i/${SLUG}?lang=fa`);
  const html = page.locator('html');
  assert.equal(await html.getAttribute('dir'), 'rtl');
  assert.equal(await html.getAttribute('lang'), 'fa');
  await page.getByRole('heading', { level: 1, name: /آتش‌سوزی در کشتی/ }).waitFor();
  assert.equal(
    await page.locator('main').evaluate((el) => getComputedStyle(el).direction),
    'rtl',
    'the page is laid out right to left',
  );
  await j.shot('landing');
  await j.accessible('landing page (fa)');
  await j.onPhone('landing');

  await Promise.all([
    page.waitForURL((url) => url.pathname === `/i/${SLUG}/form`),
    page.getByRole('link', { name: 'درخواست خود را برای ما بفرستید' }).click(),
  ]);
  assert.equal(await html.getAttribute('dir'), 'rtl');
  await page.getByRole('heading', { level: 1, name: 'بگویید به چه چیزی نیاز دارید' }).waitFor();
  await j.shot('form');
  await j.accessible('intake form (fa)');

  const name = 'مریم احمدی';
  const message = `ما در کشتی بودیم و می‌خواهیم سفرمان را جابه‌جا کنیم. (${id})`;
  await page.getByLabel('نام شما').fill(name);
  await page.getByLabel('نشانی ایمیل').fill(`maryam.${id}@example.com`);
  await page.getByLabel('کد رزرو').fill(`FA${id}`.toUpperCase().slice(0, 12));
  await page.getByLabel('تاریخ حرکت').fill(inDays(20));
  await page.getByLabel('در چه موردی به کمک نیاز دارید؟').selectOption('change');
  await page.getByLabel('پیام شما').fill(message);
  assert.equal(await page.getByLabel('زبان پاسخ').inputValue(), 'fa', 'the reply language follows the page');
  await j.shot('form-filled');
  await Promise.all([
    page.waitForURL((url) => url.pathname.startsWith('/c/')),
    page.getByRole('button', { name: 'ارسال' }).click(),
  ]);

  assert.ok(new URL(page.url()).searchParams.get('t'), 'the case address carries the token');
  assert.equal(await html.getAttribute('lang'), 'fa');
  assert.equal(await html.getAttribute('dir'), 'rtl');
  await page.getByRole('heading', { level: 1, name: 'درخواست شما را دریافت کردیم' }).waitFor();
  await page.locator('.conversation').getByText(message).waitFor();
  // Every label around the customer's own words is Persian too.
  await page.locator('.case-facts').getByText('کد پیگیری شما').waitFor();
  await page.locator('.conversation .who').getByText('شما').waitFor();
  await j.shot('case-received');
  await j.accessible('case page (fa)');
}));
