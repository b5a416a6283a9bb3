// Posts the identity provider's answer straight back from this site (saml-continue.njk), so nobody has
// to select Continue; without JavaScript the button does the same.
document.getElementById('saml-continue')?.submit();
