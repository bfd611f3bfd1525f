# bash completion for shifty-ent (generated; do not edit)
# Fixed values are embedded: completing them starts no process. Tenant and user names
# come from 'shifty-ent completion values KIND' (the same store and --tenant as the line).
_shifty_ent_store() {
    local IFS=$'\n'
    COMPREPLY=($(compgen -W "$(command shifty-ent "${ctx[@]}" completion values "$1" 2>/dev/null)" -- "$cur"))
}
_shifty_ent() {
    local cur prev path word skip i args=0
    local -a ctx=()
    cur="${COMP_WORDS[COMP_CWORD]}"
    prev="${COMP_WORDS[COMP_CWORD-1]}"
    # --output=j: bash splits at '=', so the option is the word before it
    [[ "$prev" == "=" && COMP_CWORD -gt 1 ]] && prev="${COMP_WORDS[COMP_CWORD-2]}"
    path=""
    skip=0
    for ((i = 1; i < COMP_CWORD; i++)); do
        word="${COMP_WORDS[i]}"
        [[ "$word" == "=" ]] && continue
        if ((skip)); then skip=0; continue; fi
        case "$word" in
            --db|--tenant|-t|--as)
                ((i + 1 < COMP_CWORD)) && ctx+=("$word" "${COMP_WORDS[i+1]}")
                skip=1; continue ;;
            --alias|--as|--base|--batch-size|--checkpoint|--classification|--columns|--confidence|--config|--cooldown|--count|--data-root|--dataset|--db|--description|--dir|--disk|--end|--endpoint|--epochs|--expiring-within|--fingerprint|--format|--gold|--gpu-hourly-budget|--gpu-monthly-budget|--gpu-type|--group-by|--host|--hourly|--identity|--image|--input|--instance|--label|--label-field|--labels|--learning-rate|--limit|--location|--lora-r|--max|--max-files|--max-length|--max-price|--max-steps|--max-tokens|--method|--metric|--min|--min-agreement|--min-gold|--mission-type|--model|--monthly|--name|--note|--notes|--notify-days|--option|--options|--out|--output|--output-field|--output-name|--overlap|--payload|--policy|--poll|--poll-interval|--prompt|--public-key|--reason|--region|--replicas|--require|--retention-days|--revision|--reward|--role|--sample|--seed|--server|--sha256|--sig|--size|--source|--source-id|--start|--state|--status|--subject|--target-util|--temperature|--tenant|--tenant-name|--text-field|--threads|--timeout|--timezone|--to|--ttl|--type|--witness|--xp|-c|-f|-o|-r|-t) skip=1; continue ;;
            -*) continue ;;
        esac
        case "${path:+$path }$word" in
            "admin") path="admin" ;;
            "admin add") path="admin add" ;;
            "admin list") path="admin list" ;;
            "admin remove") path="admin remove" ;;
            "arcade") path="arcade" ;;
            "arcade assign") path="arcade assign" ;;
            "arcade complete") path="arcade complete" ;;
            "arcade dataset") path="arcade dataset" ;;
            "arcade dataset create") path="arcade dataset create" ;;
            "arcade dataset list") path="arcade dataset list" ;;
            "arcade grant") path="arcade grant" ;;
            "arcade leaderboard") path="arcade leaderboard" ;;
            "arcade mission") path="arcade mission" ;;
            "arcade mission cancel") path="arcade mission cancel" ;;
            "arcade mission create") path="arcade mission create" ;;
            "arcade mission import") path="arcade mission import" ;;
            "arcade mission list") path="arcade mission list" ;;
            "arcade mission show") path="arcade mission show" ;;
            "arcade missions") path="arcade missions" ;;
            "arcade next") path="arcade next" ;;
            "arcade play") path="arcade play" ;;
            "arcade profile") path="arcade profile" ;;
            "arcade release") path="arcade release" ;;
            "arcade stats") path="arcade stats" ;;
            "arcade types") path="arcade types" ;;
            "completion") path="completion" ;;
            "completion bash") path="completion bash" ;;
            "completion fish") path="completion fish" ;;
            "completion values") path="completion values" ;;
            "completion zsh") path="completion zsh" ;;
            "config") path="config" ;;
            "config show") path="config show" ;;
            "data") path="data" ;;
            "data asset") path="data asset" ;;
            "data asset hold") path="data asset hold" ;;
            "data asset ingest") path="data asset ingest" ;;
            "data asset list") path="data asset list" ;;
            "data asset register") path="data asset register" ;;
            "data asset release") path="data asset release" ;;
            "data asset restore") path="data asset restore" ;;
            "data asset show") path="data asset show" ;;
            "data certificate") path="data certificate" ;;
            "data certificate export") path="data certificate export" ;;
            "data certificate list") path="data certificate list" ;;
            "data certificate show") path="data certificate show" ;;
            "data certificate validate") path="data certificate validate" ;;
            "data certificate verify") path="data certificate verify" ;;
            "data delete") path="data delete" ;;
            "data delete approve") path="data delete approve" ;;
            "data delete cancel") path="data delete cancel" ;;
            "data delete execute") path="data delete execute" ;;
            "data delete list") path="data delete list" ;;
            "data delete request") path="data delete request" ;;
            "data delete show") path="data delete show" ;;
            "data export") path="data export" ;;
            "data policy") path="data policy" ;;
            "data policy create") path="data policy create" ;;
            "data policy delete") path="data policy delete" ;;
            "data policy list") path="data policy list" ;;
            "data policy show") path="data policy show" ;;
            "data policy update") path="data policy update" ;;
            "data sweep") path="data sweep" ;;
            "data vault") path="data vault" ;;
            "data vault rotate-key") path="data vault rotate-key" ;;
            "data workspace") path="data workspace" ;;
            "data workspace create") path="data workspace create" ;;
            "data workspace destroy") path="data workspace destroy" ;;
            "data workspace list") path="data workspace list" ;;
            "data workspace show") path="data workspace show" ;;
            "db") path="db" ;;
            "db check") path="db check" ;;
            "db current") path="db current" ;;
            "db upgrade") path="db upgrade" ;;
            "gpu") path="gpu" ;;
            "gpu autoscale") path="gpu autoscale" ;;
            "gpu autoscale clear") path="gpu autoscale clear" ;;
            "gpu autoscale set") path="gpu autoscale set" ;;
            "gpu autoscale show") path="gpu autoscale show" ;;
            "gpu budget") path="gpu budget" ;;
            "gpu budget set") path="gpu budget set" ;;
            "gpu budget show") path="gpu budget show" ;;
            "gpu charges") path="gpu charges" ;;
            "gpu costs") path="gpu costs" ;;
            "gpu health") path="gpu health" ;;
            "gpu list") path="gpu list" ;;
            "gpu offers") path="gpu offers" ;;
            "gpu provision") path="gpu provision" ;;
            "gpu reconcile") path="gpu reconcile" ;;
            "gpu status") path="gpu status" ;;
            "gpu terminate") path="gpu terminate" ;;
            "gpu types") path="gpu types" ;;
            "init") path="init" ;;
            "model") path="model" ;;
            "model alias") path="model alias" ;;
            "model alias gate") path="model alias gate" ;;
            "model alias history") path="model alias history" ;;
            "model alias list") path="model alias list" ;;
            "model alias protect") path="model alias protect" ;;
            "model alias rollback") path="model alias rollback" ;;
            "model alias set") path="model alias set" ;;
            "model alias unprotect") path="model alias unprotect" ;;
            "model approval") path="model approval" ;;
            "model approval request") path="model approval request" ;;
            "model deploy") path="model deploy" ;;
            "model deployments") path="model deployments" ;;
            "model eval") path="model eval" ;;
            "model eval human") path="model eval human" ;;
            "model eval list") path="model eval list" ;;
            "model eval record") path="model eval record" ;;
            "model eval run") path="model eval run" ;;
            "model eval show") path="model eval show" ;;
            "model generate") path="model generate" ;;
            "model list") path="model list" ;;
            "model promote") path="model promote" ;;
            "model register") path="model register" ;;
            "model rollback") path="model rollback" ;;
            "model show") path="model show" ;;
            "model train") path="model train" ;;
            "model train attach") path="model train attach" ;;
            "model train cancel") path="model train cancel" ;;
            "model train list") path="model train list" ;;
            "model train run") path="model train run" ;;
            "model train show") path="model train show" ;;
            "model train start") path="model train start" ;;
            "model undeploy") path="model undeploy" ;;
            "model versions") path="model versions" ;;
            "quickstart") path="quickstart" ;;
            "report") path="report" ;;
            "report arcade") path="report arcade" ;;
            "report audit") path="report audit" ;;
            "report audit checkpoint") path="report audit checkpoint" ;;
            "report audit verify") path="report audit verify" ;;
            "report compliance") path="report compliance" ;;
            "report costs") path="report costs" ;;
            "report list") path="report list" ;;
            "report trust") path="report trust" ;;
            "report trust add") path="report trust add" ;;
            "report trust list") path="report trust list" ;;
            "report trust remove") path="report trust remove" ;;
            "report verify") path="report verify" ;;
            "tenant") path="tenant" ;;
            "tenant create") path="tenant create" ;;
            "tenant list") path="tenant list" ;;
            "tenant root") path="tenant root" ;;
            "tenant root add") path="tenant root add" ;;
            "tenant root list") path="tenant root list" ;;
            "tenant root remove") path="tenant root remove" ;;
            "tenant show") path="tenant show" ;;
            "user") path="user" ;;
            "user add") path="user add" ;;
            "user list") path="user list" ;;
            "user remove") path="user remove" ;;
            *) ((args++)) ;;
        esac
    done
    if ((skip)); then
        case "$path|$prev" in
            "arcade dataset create|--mission-type")
                COMPREPLY=($(compgen -W "label_test_output validate_selector rate_test_quality verify_fix classify_error annotate_ui_element review_model_output approve_deployment" -- "$cur")); return ;;
            "arcade leaderboard|--type")
                COMPREPLY=($(compgen -W "xp_all_time xp_weekly missions accuracy streak" -- "$cur")); return ;;
            "arcade mission create|--classification")
                COMPREPLY=($(compgen -W "public internal confidential restricted pii phi" -- "$cur")); return ;;
            "arcade mission create|--type")
                COMPREPLY=($(compgen -W "label_test_output validate_selector rate_test_quality verify_fix classify_error annotate_ui_element review_model_output approve_deployment" -- "$cur")); return ;;
            "arcade mission list|--status")
                COMPREPLY=($(compgen -W "open settled unresolved cancelled" -- "$cur")); return ;;
            "arcade mission list|--type")
                COMPREPLY=($(compgen -W "label_test_output validate_selector rate_test_quality verify_fix classify_error annotate_ui_element review_model_output approve_deployment" -- "$cur")); return ;;
            "arcade missions|--type")
                COMPREPLY=($(compgen -W "label_test_output validate_selector rate_test_quality verify_fix classify_error annotate_ui_element review_model_output approve_deployment" -- "$cur")); return ;;
            "arcade next|--type")
                COMPREPLY=($(compgen -W "label_test_output validate_selector rate_test_quality verify_fix classify_error annotate_ui_element review_model_output approve_deployment" -- "$cur")); return ;;
            "arcade play|--type")
                COMPREPLY=($(compgen -W "label_test_output validate_selector rate_test_quality verify_fix classify_error annotate_ui_element review_model_output approve_deployment" -- "$cur")); return ;;
            "data asset ingest|--classification")
                COMPREPLY=($(compgen -W "public internal confidential restricted pii phi" -- "$cur")); return ;;
            "data asset ingest|-c")
                COMPREPLY=($(compgen -W "public internal confidential restricted pii phi" -- "$cur")); return ;;
            "data asset list|--classification")
                COMPREPLY=($(compgen -W "public internal confidential restricted pii phi" -- "$cur")); return ;;
            "data asset list|--status")
                COMPREPLY=($(compgen -W "active erasing erase_failed deleted" -- "$cur")); return ;;
            "data asset list|-c")
                COMPREPLY=($(compgen -W "public internal confidential restricted pii phi" -- "$cur")); return ;;
            "data asset register|--classification")
                COMPREPLY=($(compgen -W "public internal confidential restricted pii phi" -- "$cur")); return ;;
            "data asset register|-c")
                COMPREPLY=($(compgen -W "public internal confidential restricted pii phi" -- "$cur")); return ;;
            "data asset restore|--to")
                type compopt >/dev/null 2>&1 && compopt -o filenames
                COMPREPLY=($(compgen -f -- "$cur")); return ;;
            "data certificate export|--out")
                type compopt >/dev/null 2>&1 && compopt -o filenames
                COMPREPLY=($(compgen -f -- "$cur")); return ;;
            "data delete list|--status")
                COMPREPLY=($(compgen -W "pending_approval approved running waiting_for_host completed failed partially_completed" -- "$cur")); return ;;
            "data delete request|--method")
                COMPREPLY=($(compgen -W "standard secure_overwrite cryptographic_erase dod_5220 nist_800_88" -- "$cur")); return ;;
            "data export|--out")
                type compopt >/dev/null 2>&1 && compopt -o filenames
                COMPREPLY=($(compgen -f -- "$cur")); return ;;
            "data policy create|--classification")
                COMPREPLY=($(compgen -W "public internal confidential restricted pii phi" -- "$cur")); return ;;
            "data policy create|--method")
                COMPREPLY=($(compgen -W "standard secure_overwrite cryptographic_erase dod_5220 nist_800_88" -- "$cur")); return ;;
            "data policy create|-c")
                COMPREPLY=($(compgen -W "public internal confidential restricted pii phi" -- "$cur")); return ;;
            "data policy update|--classification")
                COMPREPLY=($(compgen -W "public internal confidential restricted pii phi" -- "$cur")); return ;;
            "data policy update|--method")
                COMPREPLY=($(compgen -W "standard secure_overwrite cryptographic_erase dod_5220 nist_800_88" -- "$cur")); return ;;
            "data policy update|-c")
                COMPREPLY=($(compgen -W "public internal confidential restricted pii phi" -- "$cur")); return ;;
            "data workspace create|--classification")
                COMPREPLY=($(compgen -W "public internal confidential restricted pii phi" -- "$cur")); return ;;
            "data workspace create|--method")
                COMPREPLY=($(compgen -W "standard secure_overwrite cryptographic_erase dod_5220 nist_800_88" -- "$cur")); return ;;
            "data workspace create|--type")
                COMPREPLY=($(compgen -W "training evaluation scratch" -- "$cur")); return ;;
            "data workspace create|-c")
                COMPREPLY=($(compgen -W "public internal confidential restricted pii phi" -- "$cur")); return ;;
            "gpu autoscale set|--type")
                COMPREPLY=($(compgen -W "RTX_3090 RTX_4090 A100_40GB A100_80GB H100" -- "$cur")); return ;;
            "gpu costs|--group-by")
                COMPREPLY=($(compgen -W "instance day type" -- "$cur")); return ;;
            "gpu list|--state")
                COMPREPLY=($(compgen -W "active requested loading running stopped frozen exited offline unknown terminating terminated disappeared failed" -- "$cur")); return ;;
            "gpu offers|--type")
                COMPREPLY=($(compgen -W "RTX_3090 RTX_4090 A100_40GB A100_80GB H100" -- "$cur")); return ;;
            "gpu provision|--type")
                COMPREPLY=($(compgen -W "RTX_3090 RTX_4090 A100_40GB A100_80GB H100" -- "$cur")); return ;;
            "init|--identity")
                COMPREPLY=($(compgen -W "os postgres declared" -- "$cur")); return ;;
            "model deploy|--gpu-type")
                COMPREPLY=($(compgen -W "RTX_3090 RTX_4090 A100_40GB A100_80GB H100" -- "$cur")); return ;;
            "model deploy|--server")
                COMPREPLY=($(compgen -W "vllm ollama" -- "$cur")); return ;;
            "model eval record|--type")
                COMPREPLY=($(compgen -W "automated human" -- "$cur")); return ;;
            "model generate|--classification")
                COMPREPLY=($(compgen -W "public internal confidential restricted pii phi" -- "$cur")); return ;;
            "model generate|--input")
                type compopt >/dev/null 2>&1 && compopt -o filenames
                COMPREPLY=($(compgen -f -- "$cur")); return ;;
            "model list|--source")
                COMPREPLY=($(compgen -W "huggingface ollama custom s3" -- "$cur")); return ;;
            "model register|--classification")
                COMPREPLY=($(compgen -W "public internal confidential restricted pii phi" -- "$cur")); return ;;
            "model register|--source")
                COMPREPLY=($(compgen -W "huggingface ollama custom s3" -- "$cur")); return ;;
            "model train list|--status")
                COMPREPLY=($(compgen -W "queued running succeeded failed cancelled" -- "$cur")); return ;;
            "quickstart|--dir")
                type compopt >/dev/null 2>&1 && compopt -o filenames
                COMPREPLY=($(compgen -f -- "$cur")); return ;;
            "report arcade|--format")
                COMPREPLY=($(compgen -W "md html json csv pdf" -- "$cur")); return ;;
            "report arcade|--out")
                type compopt >/dev/null 2>&1 && compopt -o filenames
                COMPREPLY=($(compgen -f -- "$cur")); return ;;
            "report arcade|-f")
                COMPREPLY=($(compgen -W "md html json csv pdf" -- "$cur")); return ;;
            "report audit checkpoint|--witness")
                type compopt >/dev/null 2>&1 && compopt -o filenames
                COMPREPLY=($(compgen -d -- "$cur")); return ;;
            "report audit verify|--checkpoint")
                type compopt >/dev/null 2>&1 && compopt -o filenames
                COMPREPLY=($(compgen -f -- "$cur")); return ;;
            "report audit verify|--witness")
                type compopt >/dev/null 2>&1 && compopt -o filenames
                COMPREPLY=($(compgen -d -- "$cur")); return ;;
            "report compliance|--format")
                COMPREPLY=($(compgen -W "md html json csv pdf" -- "$cur")); return ;;
            "report compliance|--out")
                type compopt >/dev/null 2>&1 && compopt -o filenames
                COMPREPLY=($(compgen -f -- "$cur")); return ;;
            "report compliance|--type")
                COMPREPLY=($(compgen -W "deletion_audit access_audit retention_status data_inventory" -- "$cur")); return ;;
            "report compliance|-f")
                COMPREPLY=($(compgen -W "md html json csv pdf" -- "$cur")); return ;;
            "report costs|--format")
                COMPREPLY=($(compgen -W "md html json csv pdf" -- "$cur")); return ;;
            "report costs|--out")
                type compopt >/dev/null 2>&1 && compopt -o filenames
                COMPREPLY=($(compgen -f -- "$cur")); return ;;
            "report costs|-f")
                COMPREPLY=($(compgen -W "md html json csv pdf" -- "$cur")); return ;;
            "report list|--type")
                COMPREPLY=($(compgen -W "deletion_audit access_audit retention_status data_inventory costs arcade" -- "$cur")); return ;;
            "report verify|--public-key")
                type compopt >/dev/null 2>&1 && compopt -o filenames
                COMPREPLY=($(compgen -f -- "$cur")); return ;;
            "report verify|--sig")
                type compopt >/dev/null 2>&1 && compopt -o filenames
                COMPREPLY=($(compgen -f -- "$cur")); return ;;
            "tenant create|--data-root")
                type compopt >/dev/null 2>&1 && compopt -o filenames
                COMPREPLY=($(compgen -f -- "$cur")); return ;;
            "user add|--role")
                COMPREPLY=($(compgen -W "admin operator labeler auditor" -- "$cur")); return ;;
            "user add|-r")
                COMPREPLY=($(compgen -W "admin operator labeler auditor" -- "$cur")); return ;;
            *"|--as")
                _shifty_ent_store user; return ;;
            *"|--output")
                COMPREPLY=($(compgen -W "table json jsonl csv" -- "$cur")); return ;;
            *"|--tenant")
                _shifty_ent_store tenant; return ;;
            *"|-o")
                COMPREPLY=($(compgen -W "table json jsonl csv" -- "$cur")); return ;;
            *"|-t")
                _shifty_ent_store tenant; return ;;
        esac
        return
    fi
    if [[ "$cur" != -* ]]; then
        case "$path" in
            "admin add")
                if ((args == 0)); then
                    _shifty_ent_store user; return
                fi ;;
            "admin remove")
                if ((args == 0)); then
                    _shifty_ent_store user; return
                fi ;;
            "arcade mission import")
                if ((args == 0)); then
                    type compopt >/dev/null 2>&1 && compopt -o filenames
                    COMPREPLY=($(compgen -f -- "$cur")); return
                fi ;;
            "completion values")
                if ((args == 0)); then
                    COMPREPLY=($(compgen -W "tenant user" -- "$cur")); return
                fi ;;
            "data asset ingest")
                if ((args == 0)); then
                    type compopt >/dev/null 2>&1 && compopt -o filenames
                    COMPREPLY=($(compgen -f -- "$cur")); return
                fi ;;
            "report verify")
                if ((args == 0)); then
                    type compopt >/dev/null 2>&1 && compopt -o filenames
                    COMPREPLY=($(compgen -f -- "$cur")); return
                fi ;;
            "tenant root add")
                if ((args == 0)); then
                    type compopt >/dev/null 2>&1 && compopt -o filenames
                    COMPREPLY=($(compgen -f -- "$cur")); return
                fi ;;
            "tenant root remove")
                if ((args == 0)); then
                    type compopt >/dev/null 2>&1 && compopt -o filenames
                    COMPREPLY=($(compgen -f -- "$cur")); return
                fi ;;
            "tenant show")
                if ((args == 0)); then
                    _shifty_ent_store tenant; return
                fi ;;
            "user add")
                if ((args == 0)); then
                    _shifty_ent_store user; return
                fi ;;
            "user remove")
                if ((args == 0)); then
                    _shifty_ent_store user; return
                fi ;;
        esac
    fi
    local words=""
    case "$path" in
        "") words="init config db tenant user admin gpu model data arcade report quickstart completion --as --columns --db --debug --help --json --output --quiet --tenant --version --wide -o -q -t" ;;
        "admin") words="add list remove --help" ;;
        "admin add") words="--help" ;;
        "admin list") words="--help" ;;
        "admin remove") words="--help --yes -y" ;;
        "arcade") words="assign complete dataset grant leaderboard mission missions next play profile release stats types --help" ;;
        "arcade assign") words="--help" ;;
        "arcade complete") words="--confidence --help --notes --option" ;;
        "arcade dataset") words="create list --help" ;;
        "arcade dataset create") words="--description --help --min-agreement --mission-type" ;;
        "arcade dataset list") words="--help" ;;
        "arcade grant") words="--help --reason --xp" ;;
        "arcade leaderboard") words="--help --limit --min-gold --type" ;;
        "arcade mission") words="cancel create import list show --help" ;;
        "arcade mission cancel") words="--help --reason" ;;
        "arcade mission create") words="--classification --gold --help --options --overlap --payload --reward --subject --type" ;;
        "arcade mission import") words="--help" ;;
        "arcade mission list") words="--help --limit --status --subject --type" ;;
        "arcade mission show") words="--help" ;;
        "arcade missions") words="--help --limit --type" ;;
        "arcade next") words="--help --type" ;;
        "arcade play") words="--help --type" ;;
        "arcade profile") words="--help" ;;
        "arcade release") words="--help" ;;
        "arcade stats") words="--end --help --start" ;;
        "arcade types") words="--help" ;;
        "completion") words="bash fish values zsh --help" ;;
        "completion bash") words="--help" ;;
        "completion fish") words="--help" ;;
        "completion values") words="--help" ;;
        "completion zsh") words="--help" ;;
        "config") words="show --help" ;;
        "config show") words="--help" ;;
        "data") words="asset certificate delete export policy sweep vault workspace --help" ;;
        "data asset") words="hold ingest list register release restore show --help" ;;
        "data asset hold") words="--help --reason" ;;
        "data asset ingest") words="--classification --help --name --policy --subject --type -c" ;;
        "data asset list") words="--all --classification --expiring-within --help --status --subject -c" ;;
        "data asset register") words="--classification --help --location --max-files --no-hash --policy --sha256 --size --strict-roots --subject --type -c" ;;
        "data asset release") words="--help" ;;
        "data asset restore") words="--help --reason --to" ;;
        "data asset show") words="--help" ;;
        "data certificate") words="export list show validate verify --help" ;;
        "data certificate export") words="--force --help --out" ;;
        "data certificate list") words="--help" ;;
        "data certificate show") words="--help" ;;
        "data certificate validate") words="--help --note" ;;
        "data certificate verify") words="--help --public-key" ;;
        "data delete") words="approve cancel execute list request show --help" ;;
        "data delete approve") words="--help" ;;
        "data delete cancel") words="--help --reason" ;;
        "data delete execute") words="--help --yes -y" ;;
        "data delete list") words="--help --status" ;;
        "data delete request") words="--help --include-archives --method --reason --subject" ;;
        "data delete show") words="--help" ;;
        "data export") words="--force --help --out --subject" ;;
        "data policy") words="create delete list show update --help" ;;
        "data policy create") words="--archive-before-delete --auto-approve --auto-delete --classification --help --method --notify-days --retention-days -c" ;;
        "data policy delete") words="--help --yes -y" ;;
        "data policy list") words="--help" ;;
        "data policy show") words="--help" ;;
        "data policy update") words="--archive-before-delete --auto-approve --auto-delete --classification --dry-run --help --method --no-archive-before-delete --no-auto-approve --no-auto-delete --notify-days --retention-days --yes -c -y" ;;
        "data sweep") words="--dry-run --help --host" ;;
        "data vault") words="rotate-key --help" ;;
        "data vault rotate-key") words="--help" ;;
        "data workspace") words="create destroy list show --help" ;;
        "data workspace create") words="--classification --help --method --name --size --ttl --type -c" ;;
        "data workspace destroy") words="--help --yes -y" ;;
        "data workspace list") words="--all --help" ;;
        "data workspace show") words="--help" ;;
        "db") words="check current upgrade --help" ;;
        "db check") words="--help" ;;
        "db current") words="--help" ;;
        "db upgrade") words="--help" ;;
        "gpu") words="autoscale budget charges costs health list offers provision reconcile status terminate types --help" ;;
        "gpu autoscale") words="clear set show --help" ;;
        "gpu autoscale clear") words="--help" ;;
        "gpu autoscale set") words="--checkpoint --cooldown --disk --help --max --max-price --min --region --target-util --type" ;;
        "gpu autoscale show") words="--help" ;;
        "gpu budget") words="set show --help" ;;
        "gpu budget set") words="--help --hourly --monthly" ;;
        "gpu budget show") words="--help" ;;
        "gpu charges") words="--end --help --start" ;;
        "gpu costs") words="--end --group-by --help --start" ;;
        "gpu health") words="--help" ;;
        "gpu list") words="--help --refresh --state" ;;
        "gpu offers") words="--count --disk --help --limit --max-price --region --type" ;;
        "gpu provision") words="--count --disk --help --image --max-price --model --poll-interval --region --timeout --type --wait" ;;
        "gpu reconcile") words="--adopt --dry-run --help" ;;
        "gpu status") words="--help --refresh" ;;
        "gpu terminate") words="--help --yes -y" ;;
        "gpu types") words="--help" ;;
        "init") words="--help --identity" ;;
        "model") words="alias approval deploy deployments eval generate list promote register rollback show train undeploy versions --help" ;;
        "model alias") words="gate history list protect rollback set unprotect --help" ;;
        "model alias gate") words="--clear --dataset --help --require" ;;
        "model alias history") words="--help" ;;
        "model alias list") words="--help" ;;
        "model alias protect") words="--help" ;;
        "model alias rollback") words="--alias --help --reason --to" ;;
        "model alias set") words="--help" ;;
        "model alias unprotect") words="--help" ;;
        "model approval") words="request --help" ;;
        "model approval request") words="--alias --help" ;;
        "model deploy") words="--gpu-type --help --instance --max-price --poll-interval --replicas --server --timeout" ;;
        "model deployments") words="--all --check --help" ;;
        "model eval") words="human list record run show --help" ;;
        "model eval human") words="--dataset --help --output-field --sample --seed --text-field" ;;
        "model eval list") words="--help" ;;
        "model eval record") words="--dataset --help --metric --type" ;;
        "model eval run") words="--dataset --endpoint --help --label-field --labels --limit --text-field" ;;
        "model eval show") words="--help" ;;
        "model generate") words="--classification --help --input --max-tokens --prompt" ;;
        "model list") words="--alias --help --latest --limit --name --source" ;;
        "model promote") words="--alias --help --override --reason" ;;
        "model register") words="--classification --config --description --help --max-tokens --pull --revision --source --source-id --temperature" ;;
        "model rollback") words="--alias --help --reason --to" ;;
        "model show") words="--help" ;;
        "model train") words="attach cancel list run show start --help" ;;
        "model train attach") words="--help --poll" ;;
        "model train cancel") words="--force --help" ;;
        "model train list") words="--help --limit --status" ;;
        "model train run") words="--help --next --threads" ;;
        "model train show") words="--help" ;;
        "model train start") words="--base --batch-size --dataset --epochs --full --help --instance --learning-rate --lora-r --max-length --max-price --max-steps --on-gpu --output-name --poll --threads --type" ;;
        "model undeploy") words="--help" ;;
        "model versions") words="--help" ;;
        "quickstart") words="--dir --help --tenant-name --use-store" ;;
        "report") words="arcade audit compliance costs list trust verify --help" ;;
        "report arcade") words="--end --force --format --help --out --start -f" ;;
        "report audit") words="checkpoint verify --help" ;;
        "report audit checkpoint") words="--help --witness" ;;
        "report audit verify") words="--checkpoint --help --witness" ;;
        "report compliance") words="--end --force --format --help --out --start --type -f" ;;
        "report costs") words="--end --force --format --help --out --start -f" ;;
        "report list") words="--help --limit --type" ;;
        "report trust") words="add list remove --help" ;;
        "report trust add") words="--help --label" ;;
        "report trust list") words="--help" ;;
        "report trust remove") words="--help --yes -y" ;;
        "report verify") words="--fingerprint --help --public-key --sig" ;;
        "tenant") words="create list root show --help" ;;
        "tenant create") words="--data-root --gpu-hourly-budget --gpu-monthly-budget --help" ;;
        "tenant list") words="--all --help" ;;
        "tenant root") words="add list remove --help" ;;
        "tenant root add") words="--help --tenant -t" ;;
        "tenant root list") words="--help --removed --tenant -t" ;;
        "tenant root remove") words="--help --host --tenant --yes -t -y" ;;
        "tenant show") words="--help" ;;
        "user") words="add list remove --help" ;;
        "user add") words="--help --role --timezone -r" ;;
        "user list") words="--help --removed" ;;
        "user remove") words="--help --yes -y" ;;
    esac
    COMPREPLY=($(compgen -W "$words" -- "$cur"))
}
complete -o default -F _shifty_ent shifty-ent
