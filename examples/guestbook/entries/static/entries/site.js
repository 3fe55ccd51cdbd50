// Marks the page as scripted: proves the hashed script loaded.
document.documentElement.dataset.scripted = "yes";

// Suggests a word to sign with (from words.js, loaded before this script).
window.addEventListener("DOMContentLoaded", function () {
  var words = window.GUESTBOOK_WORDS || [];
  var text = document.querySelector("textarea[name=text]");
  if (text && words.length) {
    text.placeholder = "Say hello, or " + words[Math.floor(Math.random() * words.length)];
  }
});
