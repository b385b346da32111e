# Managed by february: runs before every user's own script.
# Rspamd's milter adds "X-Spam: Yes" when its action is "add header".
require ["fileinto"];
if header :is "X-Spam" "Yes" {
  fileinto "Junk";
  stop;
}
