// Progressive enhancement for the web interface: GOV.UK Frontend components, and on the upload page
// drag-and-drop plus one request per file with a progress bar and its own result.
import { initAll } from '/assets/govuk-frontend.min.js';

initAll();

const form = document.querySelector('[data-upload-form]');
if (form && window.FormData && window.XMLHttpRequest) enhanceUpload(form);

function enhanceUpload(form) {
  const input = form.querySelector('input[type=file]');
  const zone = form.querySelector('[data-drop-zone]');
  const hint = form.querySelector('[data-drop-hint]');
  const output = document.querySelector('[data-upload-progress]');
  let dropped = null;
  if (hint) hint.hidden = false;

  if (zone) {
    zone.addEventListener('dragover', (event) => {
      event.preventDefault();
      zone.classList.add('sr-drop-zone--active');
    });
    zone.addEventListener('dragleave', () => zone.classList.remove('sr-drop-zone--active'));
    zone.addEventListener('drop', (event) => {
      event.preventDefault();
      zone.classList.remove('sr-drop-zone--active');
      if (!event.dataTransfer || event.dataTransfer.files.length === 0) return;
      try {
        input.files = event.dataTransfer.files;
      } catch {
        dropped = Array.from(event.dataTransfer.files);
      }
      if (hint) hint.textContent = `${event.dataTransfer.files.length} file(s) ready to upload.`;
    });
  }
  input.addEventListener('change', () => {
    dropped = null;
  });

  form.addEventListener('submit', (event) => {
    const files = dropped ?? Array.from(input.files ?? []);
    const collection = form.querySelector('[name=collectionId]');
    // Without files or a destination, let the server answer with its error summary.
    if (files.length === 0 || !collection || !collection.value) return;
    event.preventDefault();
    void uploadAll(files);
  });

  async function uploadAll(files) {
    const button = form.querySelector('button[type=submit], #upload-button');
    if (button) button.disabled = true;
    output.innerHTML = '';
    const heading = document.createElement('h2');
    heading.className = 'govuk-heading-m';
    heading.textContent = 'Uploading';
    output.append(heading);
    const list = document.createElement('ul');
    list.className = 'govuk-list sr-progress-list';
    output.append(list);
    const rows = files.map((file, index) => {
      const item = document.createElement('li');
      item.className = 'sr-progress';
      item.dataset.file = file.name;
      const label = document.createElement('span');
      label.className = 'govuk-body govuk-!-font-weight-bold sr-progress__name';
      label.id = `upload-file-${index}`;
      label.textContent = file.name;
      const bar = document.createElement('progress');
      bar.max = 100;
      bar.value = 0;
      bar.className = 'sr-progress__bar';
      bar.setAttribute('aria-labelledby', label.id);
      const result = document.createElement('span');
      result.className = 'govuk-body sr-progress__result';
      result.textContent = 'Waiting';
      item.append(label, bar, result);
      list.append(item);
      return { file, item, bar, result };
    });
    let ok = 0;
    for (const row of rows) {
      const outcome = await uploadOne(row);
      if (outcome && outcome.ok) ok += 1;
    }
    heading.textContent = `Uploaded ${ok} of ${rows.length} file(s)`;
    const collection = form.querySelector('[name=collectionId]').value;
    const done = document.createElement('p');
    done.className = 'govuk-body';
    done.innerHTML = `<a class="govuk-link" href="/collections/${encodeURIComponent(collection)}">Go to the collection</a>`;
    output.append(done);
    if (button) button.disabled = false;
    input.value = '';
    dropped = null;
  }

  function uploadOne(row) {
    return new Promise((resolve) => {
      const data = new FormData();
      for (const name of ['_csrf', 'collectionId']) data.append(name, form.querySelector(`[name=${name}]`).value);
      const classification = form.querySelector('[name=classification]:checked');
      data.append('classification', classification ? classification.value : '');
      data.append('files', row.file, row.file.name);
      const xhr = new XMLHttpRequest();
      xhr.open('POST', form.action);
      xhr.setRequestHeader('Accept', 'application/json');
      xhr.setRequestHeader('X-CSRF-Token', form.querySelector('[name=_csrf]').value);
      row.result.textContent = 'Uploading';
      xhr.upload.addEventListener('progress', (event) => {
        if (event.lengthComputable) row.bar.value = Math.round((event.loaded / event.total) * 100);
      });
      xhr.addEventListener('load', () => {
        row.bar.value = 100;
        let body = null;
        try {
          body = JSON.parse(xhr.responseText);
        } catch {
          body = null;
        }
        const summary = body && body.files && body.files[0];
        if (summary) show(row, summary);
        else show(row, { ok: false, status: 'refused', message: (body && body.detail) || `The upload failed (${xhr.status}).` });
        resolve(summary);
      });
      xhr.addEventListener('error', () => {
        show(row, { ok: false, status: 'refused', message: 'The connection failed. Try again.' });
        resolve(null);
      });
      xhr.send(data);
    });
  }

  function show(row, summary) {
    row.item.dataset.status = summary.status;
    row.item.classList.add(summary.ok ? 'sr-progress--ok' : 'sr-progress--failed');
    row.result.textContent = '';
    const tag = document.createElement('strong');
    tag.className = `govuk-tag ${summary.status === 'available' ? 'govuk-tag--green' : summary.status === 'pending_scan' ? 'govuk-tag--yellow' : 'govuk-tag--red'}`;
    tag.textContent = summary.label || (summary.ok ? 'Uploaded' : 'Not uploaded');
    const text = document.createElement('span');
    text.textContent = ` ${summary.message} `;
    row.result.append(tag, text);
    if (summary.href) {
      const link = document.createElement('a');
      link.className = 'govuk-link';
      link.href = summary.href;
      link.textContent = `Open ${summary.name}`;
      row.result.append(link);
    }
  }
}
