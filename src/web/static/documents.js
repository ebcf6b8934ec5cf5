// Mes documents, enhanced: drop files on the upload form, see a progress bar. Without this
// script the same form works as a plain multipart POST (src/documents/pages.tsx).
(function () {
  'use strict';
  var form = document.querySelector('form[data-documents-upload]');
  if (!form || !window.FormData || !window.XMLHttpRequest) return;
  var input = form.querySelector('input[type=file]');
  var bar = form.querySelector('progress');

  function send(files) {
    var data = new FormData();
    for (var i = 0; i < files.length; i++) data.append('fichiers', files[i], files[i].name);
    var xhr = new XMLHttpRequest();
    xhr.open('POST', form.action);
    xhr.setRequestHeader('accept', 'application/json');
    bar.hidden = false;
    bar.value = 0;
    xhr.upload.onprogress = function (e) {
      if (e.lengthComputable) bar.value = Math.round((e.loaded / e.total) * 100);
    };
    xhr.onload = function () {
      if (xhr.status >= 200 && xhr.status < 300) return window.location.reload();
      var message = 'Erreur ' + xhr.status;
      try {
        message = JSON.parse(xhr.responseText).error.message;
      } catch (_) {}
      bar.hidden = true;
      window.alert(message);
    };
    xhr.onerror = function () {
      bar.hidden = true;
      window.alert("L'envoi a échoué. Vérifiez votre connexion et réessayez.");
    };
    xhr.send(data);
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
  form.addEventListener('drop', function (e) {
    e.preventDefault();
    form.classList.remove('dragging');
    if (e.dataTransfer && e.dataTransfer.files.length) send(e.dataTransfer.files);
  });
})();
