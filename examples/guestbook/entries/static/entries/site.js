// Marks the page as scripted: proves the hashed script loaded.
document.documentElement.dataset.scripted = "yes";
