# bash completion for shifty-ent (generated; do not edit)
_shifty_ent() {
    local cur path word skip i
    cur="${COMP_WORDS[COMP_CWORD]}"
    path=""
    skip=0
    for ((i = 1; i < COMP_CWORD; i++)); do
        word="${COMP_WORDS[i]}"
        if ((skip)); then skip=0; continue; fi
        case "$word" in
            --as|--data-root|--db|--gpu-hourly-budget|--gpu-monthly-budget|--output|--role|--tenant|--timezone|-o|-r|-t) skip=1; continue ;;
            -*) continue ;;
        esac
        case "${path:+$path }$word" in
            "config") path="config" ;;
            "config show") path="config show" ;;
            "db") path="db" ;;
            "db check") path="db check" ;;
            "db current") path="db current" ;;
            "db upgrade") path="db upgrade" ;;
            "init") path="init" ;;
            "report") path="report" ;;
            "report audit") path="report audit" ;;
            "report audit verify") path="report audit verify" ;;
            "tenant") path="tenant" ;;
            "tenant create") path="tenant create" ;;
            "tenant list") path="tenant list" ;;
            "tenant show") path="tenant show" ;;
            "user") path="user" ;;
            "user add") path="user add" ;;
            "user list") path="user list" ;;
            "user remove") path="user remove" ;;
        esac
    done
    local words=""
    case "$path" in
        "") words="init config db tenant user report --as --db --debug --help --json --output --quiet --tenant --version -o -q -t" ;;
        "config") words="show --help" ;;
        "config show") words="--help" ;;
        "db") words="check current upgrade --help" ;;
        "db check") words="--help" ;;
        "db current") words="--help" ;;
        "db upgrade") words="--help" ;;
        "init") words="--help" ;;
        "report") words="audit --help" ;;
        "report audit") words="verify --help" ;;
        "report audit verify") words="--help" ;;
        "tenant") words="create list show --help" ;;
        "tenant create") words="--data-root --gpu-hourly-budget --gpu-monthly-budget --help" ;;
        "tenant list") words="--all --help" ;;
        "tenant show") words="--help" ;;
        "user") words="add list remove --help" ;;
        "user add") words="--help --role --timezone -r" ;;
        "user list") words="--help --removed" ;;
        "user remove") words="--help --yes -y" ;;
    esac
    COMPREPLY=($(compgen -W "$words" -- "$cur"))
}
complete -o default -F _shifty_ent shifty-ent
