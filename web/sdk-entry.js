// The browser client, whole, as one ES module for the demo page and the
// browser tests: `npm run build` writes dist/amazon-chime-sdk.js. The
// package is CommonJS, whose names a bundler cannot re-export one by one,
// so they are re-exported as the module's default and spread by the page.
import sdk from 'amazon-chime-sdk-js';

export default sdk;
