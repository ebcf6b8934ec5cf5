// Mes documents, enhanced: drop files on the upload form, see a progress bar. Each file goes as
// the body of its own PUT (…/fichiers?nom=…&dossier=…, src/documents/raw-upload.ts): its size is
// known, so the server stores it in one piece. Without this script the same form works as a
// plain multipart POST (src/documents/pages.tsx).
(function () {
  'use strict';
  var form = document.querySelector('form[data-documents-upload]');
  if (!form || !window.XMLHttpRequest || !window.URL) return;
  var input = form.querySelector('input[type=file]');
  var bar = form.querySelector('progress');
  var status = form.querySelector('.upload-status');
  var en = document.documentElement.lang === 'en';
  var words = en
    ? { sending: 'Uploading “{name}” ({n} of {total}): {pct} %', failed: 'Upload failed. Check your connection and try again.', error: 'Error {status}' }
    : { sending: 'Envoi de « {name} » ({n} sur {total}) : {pct} %', failed: "L'envoi a échoué. Vérifiez votre connexion et réessayez.", error: 'Erreur {status}' };
  function say(template, values) {
    return template.replace(/\{(\w+)\}/g, function (m, k) { return k in values ? values[k] : m; });
  }
  // A failure is said under the form; when earlier files were stored, the page reloads to list
  // them and says it there.
  var FAILURE_KEY = 'portique.documents.upload-failure';
  function tell(message, failure) {
    status.hidden = false;
    status.textContent = message;
    status.classList.toggle('error', !!failure);
  }
  try {
    var kept = window.sessionStorage.getItem(FAILURE_KEY);
    if (kept) {
      window.sessionStorage.removeItem(FAILURE_KEY);
      tell(kept, true);
    }
  } catch (_) {}
  var meta = document.querySelector('meta[name="csrf-token"]');
  var token = meta ? meta.getAttribute('content') : '';
  // The form's action is …/envoi?_csrf=…&dossier=…: the PUT goes to …/fichiers in the same space.
  var action = new URL(form.action, window.location.href);
  var base = action.pathname.replace(/\/envoi$/, '/fichiers');
  var folder = action.searchParams.get('dossier');

  function errorOf(xhr) {
    try {
      return JSON.parse(xhr.responseText).error.message;
    } catch (_) {
      return say(words.error, { status: xhr.status });
    }
  }

  function send(fileList) {
    var files = Array.prototype.slice.call(fileList);
    var total = files.reduce(function (sum, f) { return sum + f.size; }, 0);
    var sent = 0;
    var stored = 0;
    bar.hidden = false;
    bar.value = 0;
    var current = 0;
    function show(loaded) {
      bar.value = total > 0 ? Math.round(((sent + loaded) / total) * 100) : 100;
      tell(say(words.sending, { name: files[current].name, n: current + 1, total: files.length, pct: bar.value }));
    }
    function fail(message) {
      bar.hidden = true;
      tell(message, true);
      if (stored > 0) {
        try {
          window.sessionStorage.setItem(FAILURE_KEY, message);
        } catch (_) {}
        window.location.reload();
      }
    }
    function next(i) {
      if (i === files.length) return window.location.reload();
      var file = files[i];
      current = i;
      show(0);
      var url = base + '?nom=' + encodeURIComponent(file.name) + (folder ? '&dossier=' + encodeURIComponent(folder) : '');
      var xhr = new XMLHttpRequest();
      xhr.open('PUT', url);
      xhr.setRequestHeader('accept', 'application/json');
      xhr.setRequestHeader('x-csrf-token', token);
      xhr.setRequestHeader('content-type', file.type || 'application/octet-stream');
      xhr.upload.onprogress = function (e) {
        show(e.loaded);
      };
      xhr.onload = function () {
        if (xhr.status < 200 || xhr.status >= 300) return fail(file.name + ' : ' + errorOf(xhr));
        stored++;
        sent += file.size;
        next(i + 1);
      };
      xhr.onerror = function () {
        fail(words.failed);
      };
      xhr.send(file);
    }
    next(0);
  }

  form.addEventListener('submit', function (e) {
    if (!input.files || input.files.length === 0) return;
    e.preventDefault();
    send(input.files);
  });
  ['dragenter', 'dragover'].forEach(function (type) {
    form.addEventListener(type, function (e) {
      e.preventDefault();
      form.classList.add('dragging');
    });
  });
  form.addEventListener('dragleave', function () {
    form.classList.remove('dragging');
  });
  // Files dropped anywhere on the page are uploaded: a drop just beside the zone would otherwise
  // make the browser leave the page to show the file.
  window.addEventListener('dragover', function (e) {
    e.preventDefault();
  });
  window.addEventListener('drop', function (e) {
    e.preventDefault();
    form.classList.remove('dragging');
    if (e.dataTransfer && e.dataTransfer.files.length) send(e.dataTransfer.files);
  });
})();
