/**
 * The wizard keeps its work on the server and the permit can be amended from the portal (issue
 * 15, items 2 and 3), in both languages: an applicant starts an application, adds a team
 * member, picks the pharmacy table's join key with one button and a whole table with another,
 * reloads the page in the middle and finds everything where it was, then files it (the draft is
 * gone once filed) with the justified potential-identifier exception, which the committee grants
 * in the permit form before two members vote it into force. On an active project the principal investigator files an amendment with the
 * wizard; the reviewers see what it changes by field label and take it through every step to a
 * new permit in force, voted by two distinct committee members.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { assertAccessible, checkedScreenshot } from './a11y.ts';
import { activeProject, demoPrincipal, loginViaOidc, newPage, portalFixture, sessionFor, skipReason, useLanguage, waitUntil, type Browser, type Enclave, type Page } from './harness.ts';

const skip = skipReason();
const TX = {
  fr: { next: 'Suivant', submit: 'Déposer la demande', saved: 'Brouillon enregistré', resumed: 'Brouillon repris', teamAdd: 'Ajouter à l’équipe', selectAll: 'Sélectionner toutes les colonnes', amend: 'Déposer une modification', decide: 'Enregistrer la décision', propose: 'Proposer l’autorisation modifiée', proposePermit: 'Proposer l’autorisation à partir de la demande', cols: 'Colonnes de ER_PRS_F' },
  en: { next: 'Next', submit: 'Submit the application', saved: 'Draft saved', resumed: 'Draft resumed', teamAdd: 'Add to the team', selectAll: 'Select all columns', amend: 'File an amendment', decide: 'Record the decision', propose: 'Propose the amended permit', proposePermit: 'Propose the permit from the application', cols: 'Columns of ER_PRS_F' },
} as const;

const JOIN_KEY = ['DCT_ORD_NUM', 'FLX_DIS_DTD', 'FLX_EMT_NUM', 'FLX_EMT_ORD', 'FLX_EMT_TYP', 'FLX_TRT_DTD', 'ORG_CLE_NUM', 'PRS_ORD_NUM', 'REM_TYP_AFF'];

/** Opens a table of the column picker (a click on an open one would close it). */
async function openTable(page: Page, table: string): Promise<void> {
  const details = page.locator(`details.picker-table[data-table="${table}"]`);
  if ((await details.getAttribute('open')) === null) await details.locator('> summary').click();
}

const checked = async (page: Page, column: string): Promise<boolean> => page.locator(`input[data-column="${column}"]`).isChecked();

describe('wizard drafts and amendments', { skip }, () => {
  let enclave: Enclave;
  let browser: Browser;
  portalFixture((e, b) => {
    [enclave, browser] = [e, b];
  });

  for (const lang of ['fr', 'en'] as const) {
    const tx = TX[lang];

    test(`${lang}: a pharmacy study kept as a server draft across a reload, with its team and the picker's helpers, filed with its justified exception, which the committee grants into an active permit`, async () => {
      const person = enclave.demo.find((d) => d.username === 'applicant');
      assert.ok(person !== undefined);
      const { page, context, problems } = await newPage(browser, enclave.url, lang);
      // from the pharmacy table's "request these data"
      await page.goto('/datasets/snds/tables/ER_PHA_F');
      await useLanguage(page, lang);
      await loginViaOidc(page, person);
      await page.getByTestId('request-data').click();
      await page.locator('input[name="title"]').waitFor();
      const title = `Pharmacie ${lang}`;
      await page.locator('input[name="title"]').fill(title);
      await page.locator('input[name="organisation"]').fill('Inserm U1018');
      await page.locator('textarea[name="purpose"]').fill('Describe antidiabetic drug dispensings and the care they go with.');
      await page.locator('textarea[name="publicInterest"]').fill('Better knowledge of drug use in the population.');
      await page.locator('input[name="teamName"]').fill('Marc Petit');
      await page.locator('input[name="teamOrganisation"]').fill('Inserm');
      await page.getByRole('button', { name: tx.teamAdd }).click();
      assert.match((await page.getByTestId('team-editor').locator('.team-list').textContent()) ?? '', /Marc Petit/);
      await checkedScreenshot(page, `wizard-team-${lang}`);
      await page.getByRole('button', { name: tx.next }).click();

      // the wizard opened the table it was asked for from; the join key of the pharmacy table
      // with the service table, in both tables, with one button
      assert.notEqual(await page.locator('details.picker-table[data-table="ER_PHA_F"]').getAttribute('open'), null);
      await openTable(page, 'ER_PHA_F');
      await page.getByTestId('join-key-ER_PHA_F-ER_PRS_F').click();
      for (const c of JOIN_KEY) {
        assert.equal(await checked(page, `ER_PHA_F.${c}`), true, `ER_PHA_F.${c}`);
        assert.equal(await checked(page, `ER_PRS_F.${c}`), true, `ER_PRS_F.${c}`);
      }
      await page.locator('input[data-column="ER_PHA_F.PHA_PRS_C13"]').check();
      // the picker renders the columns of open tables only: a closed one has none in the page
      assert.equal(await page.locator('details.picker-table[data-table="ER_CAM_F"] input[type="checkbox"]').count(), 0, 'a closed table renders no column');
      // the service table, opened by the join-key helper: unticking its last column leaves it open
      // under the person's hand; the helper ticks the key again
      for (const c of JOIN_KEY) await page.locator(`input[data-column="ER_PRS_F.${c}"]`).uncheck();
      assert.notEqual(await page.locator('details.picker-table[data-table="ER_PRS_F"]').getAttribute('open'), null, 'still open with no pick');
      assert.equal(await checked(page, 'ER_PRS_F.FLX_TRT_DTD'), false);
      await page.getByTestId('join-key-ER_PHA_F-ER_PRS_F').click();
      for (const c of JOIN_KEY) assert.equal(await checked(page, `ER_PRS_F.${c}`), true, `ER_PRS_F.${c} again`);
      // every column of a table but its direct identifiers, one button
      await openTable(page, 'IR_BEN_R');
      await page.getByTestId('select-all-IR_BEN_R').click();
      const ben = page.locator('details.picker-table[data-table="IR_BEN_R"] input[type="checkbox"]');
      const boxes = await ben.count();
      let on = 0;
      let disabled = 0;
      for (let i = 0; i < boxes; i++) {
        if (await ben.nth(i).isChecked()) on++;
        if (await ben.nth(i).isDisabled()) disabled++;
      }
      assert.equal(on, boxes - disabled, 'all but the direct identifiers');
      await checkedScreenshot(page, `wizard-picker-${lang}`);

      // saved on the server, then a reload finds everything where it was
      await waitUntil(async () => ((await page.getByTestId('draft-status').textContent()) ?? '').includes(tx.saved) && page.url().includes('draft='));
      await page.waitForTimeout(1200); // the last change's save (800 ms after it)
      await page.reload();
      await page.getByTestId('draft-status').waitFor();
      assert.match((await page.getByTestId('draft-status').textContent()) ?? '', new RegExp(tx.resumed));
      assert.equal(await checked(page, 'ER_PHA_F.PHA_PRS_C13'), true);
      assert.equal(await checked(page, 'ER_PRS_F.FLX_TRT_DTD'), true);
      await page.getByRole('button', { name: lang === 'fr' ? 'Précédent' : 'Previous' }).click();
      assert.equal(await page.locator('input[name="title"]').inputValue(), title);
      assert.match((await page.getByTestId('team-editor').textContent()) ?? '', /Marc Petit/);
      await page.getByRole('button', { name: tx.next }).click();
      await page.getByRole('button', { name: tx.next }).click();

      // the session ends on the server: the next save fails and the page says so; logging in
      // again comes back to the draft, at the step it was saved on
      await page.waitForTimeout(1200);
      const cookie = (await context.cookies()).find((c) => c.name === 'enclave_session')?.value ?? '';
      await enclave.platform.identity.logout(cookie);
      await page.locator('textarea[name="population"]').fill('lost with the session');
      await page.getByTestId('session-expired').waitFor();
      await checkedScreenshot(page, `wizard-session-expired-${lang}`);
      await loginViaOidc(page, person);
      await page.getByTestId('draft-status').waitFor();
      assert.match((await page.getByTestId('draft-status').textContent()) ?? '', new RegExp(tx.resumed));
      assert.match(page.url(), /\/projects\/new\?draft=/);
      await page.locator('input[name="yearFrom"]').waitFor();

      await page.locator('input[name="yearFrom"]').fill('2021');
      await page.locator('input[name="yearTo"]').fill('2023');
      await page.locator('textarea[name="population"]').fill('People with a dispensing of an antidiabetic drug.');
      await page.locator('textarea[name="justification"]').fill('Dispensings joined to their service rows need the join key of both tables, and the beneficiary table describes the people.');
      // the care date of the join key and the beneficiary's birth and residence columns are
      // potential identifiers over the limit: the wizard asks for the justified exception
      const why = 'The care date and year-month of birth are needed to follow each treatment over time and by age group.';
      const pi = page.locator('textarea[name="potentialIdentifierJustification"]');
      await pi.waitFor();
      await pi.fill(why);
      await page.getByRole('button', { name: tx.next }).click();
      await page.getByRole('button', { name: tx.submit }).click();
      await page.locator('[data-status="submitted"]').first().waitFor();
      const projectId = decodeURIComponent(new URL(page.url()).pathname.split('/').pop() ?? '');
      const applicant = await demoPrincipal(enclave, 'applicant');
      assert.deepEqual((await enclave.platform.governance.listDrafts(applicant)).filter((d) => d.content['title'] === title), [], 'the draft is gone once filed');

      // completeness, ethics and legal review (their pages are walked in journeys.test.ts), then
      // the committee grants the exception in the permit form and two members vote it into force
      const gov = enclave.platform.governance;
      const [c1, ethics, legal] = await Promise.all(['committee1', 'ethics', 'legal'].map((u) => demoPrincipal(enclave, u)));
      assert.ok(c1 !== undefined && ethics !== undefined && legal !== undefined);
      await gov.take(c1, projectId, 'accept_complete');
      await gov.take(ethics, projectId, 'ethics_favourable');
      await gov.take(legal, projectId, 'legal_approve');
      const reviewers: Awaited<ReturnType<typeof newPage>>[] = [];
      const vote = async (username: string): Promise<Page> => {
        const who = enclave.demo.find((d) => d.username === username);
        assert.ok(who !== undefined);
        const s = await newPage(browser, enclave.url, lang);
        reviewers.push(s);
        await s.page.goto(`/projects/${projectId}`);
        await useLanguage(s.page, lang);
        await loginViaOidc(s.page, who);
        await s.page.goto(`/projects/${projectId}`);
        return s.page;
      };
      const first = await vote('committee1');
      const exception = first.getByTestId('pi-exception');
      await exception.waitFor();
      assert.match((await exception.textContent()) ?? '', /follow each treatment over time/);
      await first.locator('#grant-exception').check();
      await assertAccessible(first, 'the permit form with the exception to grant');
      await first.getByTestId('permit-form').getByRole('button', { name: tx.proposePermit }).click();
      await first.getByTestId('four-eyes-committee').waitFor();
      const decideAs = async (pg: Page): Promise<void> => {
        const form = pg.getByTestId('decision-form');
        await form.waitFor();
        await form.getByRole('button', { name: tx.decide }).click();
      };
      await decideAs(first);
      await first.getByTestId('four-eyes-voted').waitFor();
      const second = await vote('committee2');
      await decideAs(second);
      await second.locator('[data-status="active"]').first().waitFor();
      await checkedScreenshot(second, `pharmacy-active-${lang}`);
      const permit = (await gov.permits(applicant, projectId)).find((x) => x.state === 'active');
      assert.ok(permit !== undefined, 'an active permit');
      const granted = permit.document.potentialIdentifierException;
      assert.ok(granted !== undefined, 'the permit carries the exception the committee granted');
      assert.ok(granted.columns.some((c) => /FLX_TRT_DTD/.test(c)), `the exception names the care date: ${granted.columns.join(', ')}`);
      assert.equal(granted.justification, why);
      for (const r of reviewers) {
        assert.deepEqual(r.problems(), []);
        await r.context.close();
      }
      assert.deepEqual(problems(), []);
      await context.close();
    });

    test(`${lang}: the principal investigator files an amendment; reviewers see its changes by label and vote it into force`, async () => {
      const projectTitle = `Modification ${lang}`;
      const id = await activeProject(enclave, { title: projectTitle, tables: [{ table: 'ER_PRS_F', columns: ['BEN_NIR_PSA', 'PRS_NAT_REF'] }], years: { from: 2022, to: 2023 } });
      const person = enclave.demo.find((d) => d.username === 'applicant');
      assert.ok(person !== undefined);
      const { page, context, problems } = await newPage(browser, enclave.url, lang);
      await page.goto(`/projects/${id}`);
      await useLanguage(page, lang);
      await loginViaOidc(page, person);
      await page.getByTestId('amend').click();
      await page.locator('input[name="title"]').waitFor();
      await page.getByRole('button', { name: tx.next }).click();
      await openTable(page, 'ER_PRS_F');
      await page.locator('input[data-column="ER_PRS_F.PRS_ACT_QTE"]').check();
      await page.getByRole('button', { name: tx.next }).click();
      await page.getByRole('button', { name: tx.next }).click();
      await page.getByRole('button', { name: tx.submit }).click();
      await page.getByTestId('amendment').waitFor();
      await page.locator('[data-amendment-status="submitted"]').waitFor();
      await context.close();

      // each reviewer in their own browser, by their role; the committee proposes, two vote
      const reviewers: [string, 'access_committee' | 'ethics_reviewer' | 'legal_reviewer'][] = [[`c1-${lang}`, 'access_committee'], [`eth-${lang}`, 'ethics_reviewer'], [`leg-${lang}`, 'legal_reviewer']];
      const statuses = ['ethics_review', 'legal_review', 'committee_review'];
      for (const [i, [who, role]] of reviewers.entries()) {
        const r = await newPage(browser, enclave.url, lang);
        await r.context.addCookies([{ ...(await sessionFor(enclave, who, [role])), url: enclave.url, httpOnly: true, sameSite: 'Strict' }]);
        await r.page.goto(`/projects/${id}`);
        await useLanguage(r.page, lang);
        const row = r.page.getByTestId('amendment').locator('tr', { hasText: tx.cols });
        await row.waitFor();
        assert.match((await row.textContent()) ?? '', /\+ PRS_ACT_QTE/);
        if (i === 0) {
          await checkedScreenshot(r.page, `amendment-review-${lang}`);
        } else await assertAccessible(r.page, `the amendment as the ${role} sees it`);
        await r.page.getByTestId('amendment-decision').getByRole('button', { name: tx.decide }).click();
        await r.page.locator(`[data-amendment-status="${statuses[i]}"]`).waitFor();
        assert.deepEqual(r.problems(), []);
        await r.context.close();
      }
      // The first vote is the demo committee1's, who approved permit version 1 (activeProject):
      // that vote does not count for the amended permit's version 2 (the server's rule), so the
      // portal offers approve again; once cast, approve is gone and the page says why.
      const committee1 = enclave.demo.find((d) => d.username === 'committee1');
      assert.ok(committee1 !== undefined);
      const gov = enclave.platform.governance;
      const committee1Principal = await demoPrincipal(enclave, 'committee1');
      const v1Voters = (await gov.getProject(await demoPrincipal(enclave, 'applicant'), id)).reviews.filter((r) => r.step === 'committee' && r.decision === 'approve' && r.permitVersion === 1);
      assert.ok(v1Voters.some((r) => r.reviewerId === committee1Principal.personId), 'committee1 approved permit version 1');
      for (const [n, who] of ['committee1', `c2-${lang}`].entries()) {
        const r = await newPage(browser, enclave.url, lang);
        await r.page.goto(`/projects/${id}`);
        await useLanguage(r.page, lang);
        if (n === 0) await loginViaOidc(r.page, committee1);
        else await r.context.addCookies([{ ...(await sessionFor(enclave, who, ['access_committee'])), url: enclave.url, httpOnly: true, sameSite: 'Strict' }]);
        await r.page.goto(`/projects/${id}`);
        await r.page.getByTestId('amendment').waitFor();
        await assertAccessible(r.page, `the amendment before ${who}'s vote`);
        if (n === 0) {
          await r.page.getByRole('button', { name: tx.propose }).click();
          await r.page.getByTestId('amendment-approvals').waitFor();
          assert.equal(await r.page.getByTestId('amendment-voted').count(), 0, 'a vote on permit v1 does not count for v2');
          assert.ok((await r.page.getByTestId('amendment-decision').locator('option[value="approve"]').count()) > 0, 'approve is offered to who voted on v1');
        }
        await r.page.getByTestId('amendment-decision').getByRole('button', { name: tx.decide }).click();
        if (n === 1) {
          await r.page.locator('section[aria-labelledby="permits-h"] tbody tr', { hasText: 'v2' }).waitFor();
          await checkedScreenshot(r.page, `amendment-approved-${lang}`);
        } else {
          await r.page.getByTestId('amendment-voted').waitFor();
          assert.equal(await r.page.getByTestId('amendment-decision').locator('option[value="approve"]').count(), 0, 'approve is gone once cast for v2');
          await checkedScreenshot(r.page, `amendment-voted-${lang}`);
        }
        assert.deepEqual(r.problems(), []);
        await r.context.close();
      }
      const permits = await enclave.platform.governance.permits(await demoPrincipal(enclave, 'applicant'), id);
      const inForce = permits.find((p) => p.state === 'active');
      assert.equal(inForce?.version, 2);
      assert.ok(inForce?.document.datasets[0]?.tables.some((t) => t.columns.includes('PRS_ACT_QTE')));
      assert.deepEqual(problems(), []);
    });
  }
});
